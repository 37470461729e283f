"""Fixtures of the PDF writer tests."""

from __future__ import annotations

import pytest

from airflow_export.writers.pdf.fonts import find_font_path, load_font


@pytest.fixture(scope="module")
def font():
    """The default main font, loaded."""
    return load_font(find_font_path())


@pytest.fixture
def drawn(monkeypatch) -> list[tuple[int, str]]:
    """Every cell the PDF writers draw (not take from a cell cache), as ``(column, text)``, in order."""
    from airflow_export.writers.pdf import cells

    calls: list[tuple[int, str]] = []
    draw = cells.CellDrawer.draw

    def record_then_draw(self, column, text, atomic=False):
        calls.append((column, text))
        return draw(self, column, text, atomic)

    monkeypatch.setattr(cells.CellDrawer, "draw", record_then_draw)
    return calls
