"""write_pdf's files as the streaming document writes them: valid, complete, deterministic,
one file by default, memory flat in the file's length, nothing at the target after a crash.

ADRs 0040-0043. The PDFs are checked with ``qpdf --check`` (Debian ``qpdf``), read back with
pypdf and rendered with ``pdftoppm`` (Debian ``poppler-utils``); both are installed by
``scripts/setup.sh``, and a test fails (never skips) without them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest

from airflow_export.writers.pdf import DEFAULT_MAX_ROWS_PER_FILE, PdfOptions, write_pdf
from tests.writers.pdf.reading import footer, read, render_page, table_rows

#: One row per script: Latin with accents, Cyrillic, Greek, CJK.
SCRIPTS = ("Zürich Grüße", "Съешь ещё", "Ξεσκεπάζω", "東京都 漢字")
COLUMNS = ["id", "text", "amount", "note"]


def multiscript_rows(n: int):
    for i in range(1, n + 1):
        yield (i, f"{SCRIPTS[i % len(SCRIPTS)]} {i}", i * 1.25, None if i % 9 == 0 else f"note {i % 13}")


def qpdf_check(path: Path) -> None:
    assert shutil.which("qpdf"), "qpdf is not installed: scripts/setup.sh installs it (apt-get install qpdf)"
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_valid_with_right_pages_and_first_and_last_rows(tmp_path):
    path = tmp_path / "report.pdf"
    result = write_pdf(multiscript_rows(1_234), path, columns=COLUMNS, title="Streamed Ωμέγα 東京")
    assert result.records == 1_234 and len(result.files) == 1
    qpdf_check(path)
    reader = read(path)
    assert len(reader.pages) == 25  # 24 full pages of 50 rows and 34 rows
    assert reader.metadata.title == "Streamed Ωμέγα 東京"
    first, last = reader.pages[0], reader.pages[-1]
    assert table_rows(first)[0] == tuple(COLUMNS)
    row = table_rows(first)[1]  # the ASCII cells as drawn (the text column's bytes are font subset codes)
    assert (row[0], *row[2:]) == ("1", "1.25", "note 1")
    first_text = first.extract_text()
    assert "Съешь ещё 1" in first_text and "Streamed Ωμέγα 東京" in first_text
    last_text = last.extract_text()
    assert "Ξεσκεπάζω 1234" in last_text and "Zürich Grüße 1232" in last_text and "東京都 漢字 1231" in last_text
    row = table_rows(last)[-1]
    assert (row[0], *row[2:]) == ("1234", "1542.5", "note 12")
    assert footer(first) == "Page 1 of 25" and footer(last) == "Page 25 of 25"
    assert reader.pages[12].extract_text().splitlines()[-1] == "1,234 rows Page 13 of 25"


def test_two_runs_give_identical_bytes(tmp_path):
    for name in ("a.pdf", "b.pdf"):
        write_pdf(multiscript_rows(300), tmp_path / name, columns=COLUMNS, title="Same")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert (tmp_path / "a.pdf").stat().st_size > 10_000


def test_empty_export_is_one_valid_page(tmp_path):
    path = tmp_path / "empty.pdf"
    write_pdf([], path, columns=COLUMNS)
    qpdf_check(path)
    reader = read(path)
    assert len(reader.pages) == 1
    assert "No rows" in reader.pages[0].extract_text() and footer(reader.pages[0]) == "Page 1 of 1"


def test_one_file_by_default_however_long(tmp_path):
    """ADR 0042: no row limit per file unless asked; 100,001 rows (the old default was 100,000
    rows a file) give one file of 2,001 pages."""
    assert DEFAULT_MAX_ROWS_PER_FILE is None and PdfOptions().max_rows_per_file is None
    path = tmp_path / "long.pdf"
    result = write_pdf(((i,) for i in range(1, 100_002)), path, columns=["n"])
    assert [f.path for f in result.files] == [str(path)] and result.records == 100_001
    assert sorted(os.listdir(tmp_path)) == ["long.pdf"]
    qpdf_check(path)
    reader = read(path)
    assert len(reader.pages) == 2_001
    assert table_rows(reader.pages[-1]) == [("n",), ("100001",)]
    assert footer(reader.pages[-1]) == "Page 2001 of 2001"
    # parts only when asked
    parts = write_pdf(((i,) for i in range(1, 1_001)), tmp_path / "p.pdf", columns=["n"], max_rows_per_file=400)
    assert [f.records for f in parts.files] == [400, 400, 200]


def test_first_and_last_page_render(tmp_path, artifacts):
    """Pages 1 and 40 rendered by poppler (``pdf-streamed-1.png``, ``pdf-streamed-40.png`` in
    ``test-artifacts/``): a page with the title, header, rows and footer is far from blank, and
    poppler's own text extraction finds them."""
    for tool in ("pdftoppm", "pdftotext"):
        assert shutil.which(tool), f"{tool} is not installed: scripts/setup.sh installs poppler-utils"
    path = tmp_path / "render.pdf"
    write_pdf(multiscript_rows(2_000), path, columns=COLUMNS, title="Rendered")
    for page in (1, 40):
        png = render_page(path, page, tmp_path)
        assert png.stat().st_size > 20_000  # 50 rows of text and the grid, not a blank page
        shutil.copyfile(png, artifacts / f"pdf-streamed-{page}.png")
        text = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-"],
            check=True, capture_output=True, text=True,
        ).stdout
        assert "Rendered" in text and "amount" in text and f"Page {page} of 40" in text
        last_id = page * 50
        assert f"{last_id}" in text and f"{SCRIPTS[last_id % 4]} {last_id}" in text


# ---------------------------------------------------------------- memory: flat in the file's length

#: Run as ``python -c MEMORY_CHILD rows out.pdf``: writes ``rows`` rows of unique values into one
#: file and prints JSON: pages, VmHWM (kB) of this process (imports and font included).
MEMORY_CHILD = textwrap.dedent(
    """
    import json, sys
    from airflow_export.writers.pdf import write_pdf
    n, out = int(sys.argv[1]), sys.argv[2]
    rows = ((i, f"customer {i:08d}", i * 0.25, f"order {i * 7919 % 1000003} of the day") for i in range(n))
    result = write_pdf(rows, out, columns=["id", "customer", "amount", "order"], max_rows_per_file=None)
    with open("/proc/self/status") as fh:
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(json.dumps({"records": result.records, "bytes": result.bytes, "hwm_kb": hwm}))
    """
)


def _memory_child(tmp_path: Path, rows: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(rows), str(tmp_path / f"m{rows}.pdf")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_file(tmp_path):
    """80,000 rows of unique values (1,600 pages, ~5 MB of PDF) peak within 4 MB of 4,000 rows in a
    fresh process. Before (ADR 0040) every finished page stayed in ReportLab's document until
    save (+~10 MB here), and the cell caches held up to 20,000 cells per column (+~15 MB)."""
    small = _memory_child(tmp_path, 4_000)
    large = _memory_child(tmp_path, 80_000)
    assert large["records"] == 80_000 and large["bytes"] > 4_000_000
    growth_mb = (large["hwm_kb"] - small["hwm_kb"]) / 1024
    assert growth_mb < 4, (small, large)


# ---------------------------------------------------------------- crash safety at every stage

#: Run as ``python -c KILL_CHILD stage out.pdf``: writes 3,000 rows and SIGKILLs itself at
#: ``stage``: after the 10th page is on disk, while the font subsets are written at close, or
#: after the cross-reference table (the file complete, not yet renamed into place).
KILL_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from airflow_export.writers.pdf import document, write_pdf
    stage, out = sys.argv[1], sys.argv[2]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if stage == "page":
        add_page = document.StreamingPdfDocument.add_page
        def add_page_then_die(self, content):
            number = add_page(self, content)
            if number == 10:
                self._file.fh.flush()
                die()
            return number
        document.StreamingPdfDocument.add_page = add_page_then_die
    elif stage == "fonts":
        def subsets_then_die(font, doc, *args):
            doc._file.fh.flush()  # the pages and footers written so far reach the file
            die()
        document.write_subsets = subsets_then_die
    else:
        write_xref = document._ObjectFile.write_xref_and_trailer
        def xref_then_die(self, root, info):
            write_xref(self, root, info)
            self.fh.flush()
            die()
        document._ObjectFile.write_xref_and_trailer = xref_then_die
    rows = ((i, f"Grüße {i}", i * 0.5) for i in range(3_000))
    write_pdf(rows, out, columns=["id", "text", "value"])
    print("not killed")
    """
)


@pytest.mark.parametrize("stage", ["page", "fonts", "xref"])
def test_sigkill_at_any_stage_leaves_nothing_at_the_target(tmp_path, stage):
    target = tmp_path / "export.pdf"
    done = subprocess.run([sys.executable, "-c", KILL_CHILD, stage, str(target)], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr[-2000:])
    assert not target.exists()
    leftovers = os.listdir(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(".export.pdf."), leftovers
    assert (tmp_path / leftovers[0]).stat().st_size > 0  # pages were on disk: the kill hit a real write
    # the next run cleans up and writes the complete file
    write_pdf(((i, f"Grüße {i}", i * 0.5) for i in range(3_000)), target, columns=["id", "text", "value"])
    assert os.listdir(tmp_path) == ["export.pdf"]
    qpdf_check(target)
    assert len(pypdf.PdfReader(target).pages) == 60


def test_cell_caches_stay_within_their_budget_and_keep_repeating_columns(tmp_path, monkeypatch):
    """ADR 0043: past the byte budget the cells not used since the previous generation go (here
    the unique names); the repeating column keeps its cells, and every cell is still drawn right."""
    from airflow_export.writers.pdf import cell_cache, cells

    monkeypatch.setattr(cell_cache, "CELL_CACHE_BYTES", 60_000)
    seen = []
    release = cells.CellDrawer.release

    def record_then_release(self):
        seen.append((self.cache.cached_bytes, self.cache.columns_cells(), self.cache.rotations))
        release(self)

    monkeypatch.setattr(cells.CellDrawer, "release", record_then_release)
    rows = [(f"customer {i:06d}", ("AA", "B6", "DL", "UA", "WN")[i % 5]) for i in range(3_000)]
    path = tmp_path / "budget.pdf"
    write_pdf(rows, path, columns=["customer", "carrier"])
    [(cached, sizes, rotations)] = seen
    assert cached <= 60_000 and rotations > 1
    assert sizes[1] <= 5 + 2  # the 5 carriers (and at most an empty text cell per kind): never dropped
    assert sizes[0] < 500  # 3,000 unique names: dropped again and again
    reader = read(path)
    assert table_rows(reader.pages[-1])[-1] == ("customer 002999", "WN")
    assert table_rows(reader.pages[30])[1] == ("customer 001500", "AA")


def test_equal_numbers_of_different_types_keep_their_own_text(tmp_path):
    """``1`` and ``1.0`` (and ``2**53`` and ``2.0**53``) are equal dict keys with different texts:
    a page of ints then a page of floats in one column drew the floats with the ints' cells."""
    big = 2**53
    rows = [(1, big), (1, big), (1.0, float(big)), (1.0, float(big)), (1, big)]
    path = tmp_path / "types.pdf"
    write_pdf(rows, path, columns=["n", "big"], rows_per_page=2)
    pages = [table_rows(page) for page in read(path).pages]
    assert pages[0][1:] == [("1", str(big))] * 2
    assert pages[1][1:] == [("1.0", str(float(big)))] * 2
    assert pages[2][1:] == [("1", str(big))]


def test_a_full_cache_drops_unused_cells_not_the_largest_column(tmp_path, monkeypatch, drawn):
    """Issue 13: at 1M flights rows the caches passed their budget, and the rule then (empty the
    column holding the most) emptied the tail numbers, a repeating column, again and again (a
    1M-row file took 6-7 % longer per row than a 100k-row one). Here the repeating column holds
    the most too: with that rule its 300 cells were drawn 4,800 times; now each is drawn once and
    only the unique ids, never used again, are dropped."""
    from airflow_export.writers.pdf import cell_cache

    monkeypatch.setattr(cell_cache, "CELL_CACHE_BYTES", 150_000)
    tails = [f"N{k:03d}-tail-number-of-a-plane-{k * 7:04d}" for k in range(300)]  # ~87 KB of cells
    rows = [(tails[i * 7 % 300], str(i) if i % 4 == 0 else None) for i in range(20_000)]  # + 5,000 unique ids
    path = tmp_path / "tails.pdf"
    write_pdf(rows, path, columns=["tailnum", "id"])
    columns = [column for column, _ in drawn]
    assert columns.count(0) == 300
    assert columns.count(1) == 5_000  # the nulls: the empty cell, never drawn
    last = table_rows(read(path).pages[-1])
    assert last[-4:] == [(tails[19_996 * 7 % 300], "19996")] + [(tails[i * 7 % 300],) for i in range(19_997, 20_000)]
