"""Reading a written PDF back: the texts drawn, the table lines, the footer, a rendered page."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pypdf


def shows(page: pypdf.PageObject) -> list[tuple[str, float, float]]:
    """(text, x, y) of every Tj on the page, in content order."""
    out = []
    x = y = 0.0
    for operands, operator in page.get_contents().operations:
        if operator == b"Tm":
            x, y = float(operands[4]), float(operands[5])
        elif operator == b"Tj":
            out.append((str(operands[0]), x, y))
    return out


def sized_shows(page: pypdf.PageObject) -> list[tuple[str, float, float, float]]:
    """(text, x, y, font size) of every Tj on the page, the size from the last ``Tf``."""
    out = []
    x = y = size = 0.0
    for operands, operator in page.get_contents().operations:
        if operator == b"Tf":
            size = float(operands[1])
        elif operator == b"Tm":
            x, y = float(operands[4]), float(operands[5])
        elif operator == b"Tj":
            out.append((str(operands[0]), x, y, size))
    return out


def table_rows(page: pypdf.PageObject) -> list[tuple[str, ...]]:
    """The page's table lines top to bottom, each the tuple of its texts left to right
    (title and footer excluded: they are the top-most and bottom-most lines)."""
    by_y: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for text, x, y in shows(page):
        by_y[y].append((x, text))
    lines = [tuple(t for _, t in sorted(by_y[y])) for y in sorted(by_y, reverse=True)]
    return lines[1:-1]


def read(path) -> pypdf.PdfReader:
    return pypdf.PdfReader(str(path))


def footer(page: pypdf.PageObject) -> str:
    return shows(page)[-1][0]


def render_page(path: Path, page: int, out_dir: Path) -> Path:
    """Page ``page`` of ``path`` rendered by poppler's ``pdftoppm`` at 60 dpi; the PNG's path.

    Fails (never skips) without poppler-utils, which scripts/setup.sh installs."""
    assert shutil.which("pdftoppm"), "pdftoppm is not installed: scripts/setup.sh installs poppler-utils"
    prefix = out_dir / f"p{page}"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile", str(path), str(prefix)],
        check=True,
    )
    return prefix.with_suffix(".png")
