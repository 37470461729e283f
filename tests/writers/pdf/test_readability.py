"""Readable PDF tables (issue 17): widths from content, whole header words, one size per numeric
column with aligned decimals, column groups for wide tables, the footer, the truncation warning.

Pages are read back with pypdf's content-stream operators: every text with its position and
font size, the table's rules (vertical lines = column edges, horizontal lines = row edges), so
the checks are about geometry, not only text; page 1 of two tables is also rendered with
``pdftoppm`` and its ink checked to stay inside the page margins and the table.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from airflow_export.writers.pdf import write_pdf
from airflow_export.writers.pdf.fonts import FontMetrics
from airflow_export.writers.pdf.footer import footer_texts, format_run_time
from airflow_export.writers.pdf.layout import column_groups, fit_widths
from airflow_export.writers.pdf.text import TruncationLog, header_pieces, wrap_header
from airflow_export.writers.values import format_value
from tests.writers.pdf.reading import sized_shows

MARGIN = 24.0
#: The footer of a page of a table split into column groups, as extracted.
FOOTER = re.compile(
    "(?P<left>.*) Columns (?P<first>\\d+)\u2013(?P<last>\\d+) of (?P<columns>\\d+) "
    "\\(group (?P<group>\\d+) of (?P<groups>\\d+)\\) \u00b7 Page (?P<page>\\d+) of (?P<pages>\\d+)"
)
RUN = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))


# ---------------------------------------------------------------- reading a page's geometry


@dataclass
class Grid:
    """A page's table as drawn: column edges, row edges, texts (text, x, y, size)."""

    width: float
    height: float
    columns: list[tuple[float, float]] = field(default_factory=list)
    body_top: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    row_bottoms: list[float] = field(default_factory=list)
    texts: list[tuple[str, float, float, float]] = field(default_factory=list)

    def column_of(self, x: float) -> int:
        return max(i for i, (left, _) in enumerate(self.columns) if x >= left - 0.01)

    def header(self) -> list[list[str]]:
        """Each column's header lines, top to bottom."""
        lines: list[list[str]] = [[] for _ in self.columns]
        for text, x, y, _ in sorted(self.texts, key=lambda t: -t[2]):
            if self.body_top < y < self.top:
                lines[self.column_of(x)].append(text)
        return lines

    def cells(self) -> list[list[str]]:
        """The body's cells row by row (a cell's lines joined by a space)."""
        edges = [self.body_top, *self.row_bottoms]
        rows = [[[] for _ in self.columns] for _ in self.row_bottoms]
        for text, x, y, _ in sorted(self.texts, key=lambda t: (-t[2], t[1])):
            for r in range(len(self.row_bottoms)):
                if edges[r + 1] < y < edges[r]:
                    rows[r][self.column_of(x)].append(text)
        return [[" ".join(cell) for cell in row] for row in rows]


def footer(page: pypdf.PageObject) -> str:
    """The footer line as a reader extracts it (through the font's ToUnicode map)."""
    return page.extract_text().split("\n")[-1]


def grid(page: pypdf.PageObject) -> Grid:
    box = page.mediabox
    g = Grid(float(box.width), float(box.height))
    g.texts = sized_shows(page)
    moved: tuple[float, float] | None = None
    verticals: set[float] = set()
    horizontals: set[float] = set()
    outer: tuple[float, float, float, float] | None = None
    scaled = False
    for operands, op in page.get_contents().operations:
        if op == b"cm":
            scaled = True
        elif op == b"Q":
            scaled = False
        elif op == b"re" and not scaled and float(operands[2]) > 0:
            rect = tuple(float(v) for v in operands)
            # the header's fill: the top-most rectangle (the first of equals: the outer rule follows it)
            if outer is None or rect[1] + rect[3] > outer[1] + outer[3] + 0.005:
                outer = rect
        elif op == b"m":
            moved = (float(operands[0]), float(operands[1]))
        elif op == b"l" and moved is not None:
            lx, ly = float(operands[0]), float(operands[1])
            if lx == moved[0]:
                verticals.add(lx)
            elif ly == moved[1]:
                horizontals.add(ly)
    assert outer is not None
    left, right = outer[0], outer[0] + outer[2]
    edges = [left, *sorted(verticals), right]
    g.columns = list(zip(edges, edges[1:], strict=False))
    g.body_top = outer[1]
    g.top = outer[1] + outer[3]
    lowest = [float(o[1]) for o, op in page.get_contents().operations if op == b"re" and float(o[1]) < outer[1]]
    g.bottom = min(lowest)  # the outer rule's bottom = the last row's bottom
    g.row_bottoms = sorted((h for h in horizontals if h < g.body_top), reverse=True) + [g.bottom]
    return g


def check_inside_cells(g: Grid, metrics_for, hpad: float) -> None:
    """No text runs out of its cell (left and right padding kept) or below the table."""
    for text, x, y, size in g.texts:
        if y < g.bottom or y > g.top:  # footer, title
            continue
        left, right = g.columns[g.column_of(x)]
        assert x >= left + hpad - 0.02, (text, x, left)
        assert x + metrics_for(size).width(text) <= right - hpad + 0.02, (text, x, right)


def header_words_whole(name: str, lines: list[str]) -> bool:
    """The header lines break ``name`` only between its :func:`header_pieces`."""
    allowed = set()
    position = 0
    for piece in header_pieces(name):
        position += len(piece)
        allowed.add(position)
    position = 0
    for line in lines[:-1]:
        position += len(line)
        if name[position : position + 1] == " ":
            position += 1
        if position not in allowed:
            return False
    return "".join(lines).replace(" ", "") == name.replace(" ", "")


# ---------------------------------------------------------------- pure functions


def test_header_pieces_cut_at_spaces_underscores_dashes_and_camel_case():
    assert header_pieces("column_number_001") == ["column_", "number_", "001"]
    assert header_pieces("departure-delay minutes") == ["departure-", "delay ", "minutes"]
    assert header_pieces("HTTPStatusCode") == ["HTTP", "Status", "Code"]
    assert header_pieces("customerName2") == ["customer", "Name2"]
    assert header_pieces("id") == ["id"]


def test_wrap_header_keeps_words_whole(font):
    metrics = FontMetrics(font, 10)
    width = metrics.width("number_") + 0.01
    assert wrap_header("column_number_001", width, metrics) == ["column_", "number_", "001"]
    assert wrap_header("total amount due", metrics.width("amount due"), metrics) == ["total", "amount due"]
    # a single word wider than the column is still broken (nothing else fits)
    assert wrap_header("abcdefghij", metrics.width("abcde") + 0.01, metrics) == ["abcde", "fghij"]


def test_fit_widths_keeps_minimums_and_lets_long_text_wrap():
    assert fit_widths([10, 40, 10], [10, 100, 100], 100) == [10, 45.0, 45.0]
    widths = fit_widths([30, 20, 20], [35, 500, 22], 100)  # 500 bounded to half the table: 50
    assert widths[0] == 35 and widths[2] == 22 and widths[1] == pytest.approx(43)
    assert fit_widths([10, 10], [20, 30], 100) == [40.0, 60.0]  # they fit: grow in proportion


def test_column_groups_repeat_the_key_columns():
    assert column_groups([50] * 5, 300, 1) == [[0, 1, 2, 3, 4]]
    assert column_groups([50] * 5, 160, 1) == [[0, 1, 2], [0, 3, 4]]
    assert column_groups([40, 40, 50, 50, 50], 200, 2) == [[0, 1, 2, 3], [0, 1, 4]]
    with pytest.raises(ValueError, match="key column"):
        column_groups([100, 100, 100], 150, 1)


def test_footer_texts_and_run_time():
    assert footer_texts(1, 1, rows=4, groups=[[0, 1]], columns=2) == ("4 rows", "Page 1 of 1")
    assert footer_texts(5, 6, rows=1, groups=[[0, 1, 2], [0, 3], [0, 4, 5]], columns=6, caption="Daily",
                        run_time="2024-05-01") == (
        "Daily \u00b7 1 row \u00b7 run 2024-05-01",
        "Columns 4\u20134 of 6 (group 2 of 3) \u00b7 Page 5 of 6",
    )
    assert format_run_time(RUN) == "2024-05-01 06:00 UTC"
    assert format_run_time(dt.datetime(2024, 5, 1, 8)) == "2024-05-01 08:00"
    assert format_run_time(dt.date(2024, 5, 1)) == "2024-05-01"
    with pytest.raises(TypeError, match="run_time"):
        format_run_time(1714550400)


def test_truncation_log_counts_cells_and_keeps_the_first():
    log = TruncationLog()
    assert log.message() is None
    log.add(2, 7, "b")
    log.add(1, 3, "c")
    log.add(0, 1, "a")
    assert log.cells == 3 and log.first == (3, "c")


# ---------------------------------------------------------------- wide tables


def wide_table(columns: int, rows: int) -> tuple[list[str], list[tuple]]:
    """``columns`` columns: a key, then numbers (one decimal), camelCase text and ids."""
    rng = random.Random(columns)
    names = ["customerName"] + [
        f"column_number_{c:03d}" if c % 3 == 1 else f"amountPaid{c}" if c % 3 == 2 else f"order-note {c}"
        for c in range(1, columns)
    ]
    data = []
    for r in range(rows):
        row = [f"customer {r}"]
        for c in range(1, columns):
            row.append(rng.randrange(0, 99_999) if c % 3 == 1 else round(rng.uniform(0, 5000), 2) if c % 3 == 2
                       else f"note {r}-{c}")
        data.append(tuple(row))
    return names, data


@pytest.mark.parametrize(("columns", "key_columns"), [(40, 1), (40, 0), (120, 1), (120, 2)])
def test_wide_tables_split_into_column_groups_across_then_down(tmp_path, font, columns, key_columns):
    names, data = wide_table(columns, 60)
    path = tmp_path / "wide.pdf"
    write_pdf(data, path, columns=names, title="Wide", run_time=RUN, key_columns=key_columns)
    pages = pypdf.PdfReader(path).pages
    grids = [grid(p) for p in pages]
    assert all(g.width > g.height for g in grids)  # automatic: landscape for a wide table
    footers = [FOOTER.fullmatch(footer(p)) for p in pages]
    assert all(footers), footer(pages[0])
    total = len(pages)
    groups = int(footers[0]["groups"])
    assert groups > 1 and total % groups == 0
    seen_rows: dict[int, list[str]] = {}
    size = grids[0].texts[0][3]
    hpad = 0.4 * size
    body = {s for g in grids for t, _, y, s in g.texts if g.bottom < y < g.body_top}
    assert body == {size}  # every cell at the body size: numbers did not shrink one by one
    assert size >= 5  # legible: the table was split rather than shrunk below 5 pt
    for number, (g, found) in enumerate(zip(grids, footers, strict=True), start=1):
        group = (number - 1) % groups
        assert found["left"] == f"{len(data)} rows \u00b7 run 2024-05-01 06:00 UTC"
        assert (found["group"], found["groups"], found["page"], found["pages"]) == (
            str(group + 1), str(groups), str(number), str(total))
        assert found["columns"] == str(len(names))
        check_inside_cells(g, lambda s: FontMetrics(font, s), hpad)
        header = g.header()
        first, last = int(found["first"]), int(found["last"])
        shown = list(range(key_columns)) + list(range(first - 1, last))
        assert len(header) == len(shown)
        for column, lines in zip(shown, header, strict=True):
            assert header_words_whole(names[column], lines), (names[column], lines)
        # the rows of this page: the key columns and this group's columns, nothing lost
        row_page = (number - 1) // groups
        for index, cells in enumerate(g.cells()):
            row = seen_rows.setdefault(row_page * 1000 + index, [])
            row.extend(cells if group == 0 else cells[key_columns:])
    rebuilt = [tuple(cells) for _, cells in sorted(seen_rows.items())]
    assert rebuilt == [tuple(format_value(v) for v in row) for row in data]


def test_numbers_keep_one_size_per_column_and_their_decimal_points_line_up(tmp_path, font):
    values = [1.5, 1234.25, 99999.125, 7.0, -3.75]
    rows = [(f"r{i}", v) for i, v in enumerate(values)]
    for options, expected_size in (({}, None), ({"column_widths": {"amount": 24.0}}, "smaller")):
        path = tmp_path / "n.pdf"
        write_pdf(rows, path, columns=["ref", "amount"], font_size=8, overwrite=True, **options)
        g = grid(pypdf.PdfReader(path).pages[0])
        cells = [(t, x, s) for t, x, y, s in g.texts if g.bottom < y < g.body_top and g.column_of(x) == 1]
        assert [t for t, _, _ in cells] == [format_value(v) for v in values]
        sizes = {s for _, _, s in cells}
        assert len(sizes) == 1  # the whole column at one size
        (size,) = sizes
        assert size == 8 if expected_size is None else size < 8
        metrics = FontMetrics(font, size)
        points = [x + metrics.width(t[: t.index(".")]) for t, x, _ in cells]
        assert max(points) - min(points) < 0.02  # every "." at the same x (operators print 2 decimals)
        check_inside_cells(g, lambda s: FontMetrics(font, s), 0.4 * 8)


# ---------------------------------------------------------------- orientation, footer, rendering


def test_a_small_summary_is_portrait_with_a_footer_saying_what_it_is(tmp_path):
    rows = [("EU", 1200, 3.25), ("US", 980, 12.5), ("APAC", 45, 0.75), ("LATAM", 7, 100.0)]
    path = tmp_path / "s.pdf"
    write_pdf(rows, path, columns=["region", "flightCount", "avg_delay_minutes"], title="Daily summary",
              caption="Flights by region", run_time=RUN)
    g = grid(pypdf.PdfReader(path).pages[0])
    assert g.width < g.height  # automatic: portrait
    assert footer(pypdf.PdfReader(path).pages[0]) == (
        "Flights by region \u00b7 4 rows \u00b7 run 2024-05-01 06:00 UTC Page 1 of 1")
    (_, lx, ly, _), (_, rx, ry, _) = [t for t in g.texts if t[2] < g.bottom]
    assert ly == ry < MARGIN + 12 and lx == MARGIN and rx > g.width / 2  # one line in the bottom margin
    for landscape in (True, False):
        write_pdf(rows, path, columns=["a", "b", "c"], landscape=landscape, overwrite=True)
        box = pypdf.PdfReader(path).pages[0].mediabox
        assert (box.width > box.height) is landscape


def test_truncated_cells_are_one_warning_with_count_and_first_place(tmp_path, caplog):
    tall = "\n".join(f"line {i}" for i in range(40))
    rows = [(1, "short"), (2, tall), (3, tall), (4, "x")]
    with caplog.at_level(logging.WARNING, logger="airflow_export"):
        write_pdf(rows, tmp_path / "t.pdf", columns=["id", "text"], max_lines_per_cell=3, rows_per_page=2)
    warnings = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert warnings == [f"PDF {tmp_path / 't.pdf'}: 2 cell(s) truncated to fit (marker '… [+N lines truncated]'); "
                        "the first at row 2, column 'text'"]


def render(path: Path, artifacts: Path, name: str) -> Image.Image:
    """Page 1 of ``path`` as a 72 dpi PNG (1 px = 1 pt), kept in ``test-artifacts/NAME.png``."""
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils, scripts/setup.sh) is required"
    prefix = path.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile", str(path), str(prefix)],
                   check=True)
    png = prefix.with_suffix(".png")
    shutil.copyfile(png, artifacts / f"{name}.png")
    return Image.open(png).convert("L")


@pytest.mark.parametrize("table", ["wide40", "summary4"])
def test_rendered_first_page_keeps_its_ink_inside_the_margins_and_the_table(tmp_path, artifacts, table):
    if table == "wide40":
        names, data = wide_table(40, 60)
        options = {}
    else:
        names, data = ["region", "flightCount", "avg_delay_minutes"], [("EU", 1200, 3.25), ("US", 980, 12.5)]
        options = {"caption": "Flights by region"}
    path = tmp_path / f"{table}.pdf"
    write_pdf(data, path, columns=names, title=table, run_time=RUN, **options)
    g = grid(pypdf.PdfReader(path).pages[0])
    image = render(path, artifacts, f"pdf-readable-{table}")
    assert abs(image.size[0] - g.width) <= 1 and abs(image.size[1] - g.height) <= 1
    left, top, right, bottom = image.point(lambda v: 255 if v < 200 else 0).getbbox()
    assert left >= MARGIN - 1 and top >= MARGIN - 4 and bottom <= g.height - MARGIN + 8
    assert right <= g.columns[-1][1] + 2  # nothing drawn right of the table (bbox: exclusive, rule 0.3 pt)
    # the footer is drawn: ink in the bottom margin band, left and right
    band = image.crop((0, round(g.height - MARGIN - 12), round(g.width), round(g.height - MARGIN + 8)))
    ink = band.point(lambda v: 255 if v < 200 else 0).getbbox()
    assert ink is not None and ink[0] <= MARGIN + 2 and ink[2] >= g.columns[-1][1] - 3


def test_the_footer_never_overlaps_on_a_table_narrower_than_the_page(tmp_path, font):
    path = tmp_path / "n.pdf"
    write_pdf([(1,)], path, columns=["a"], column_widths=[30.0], caption="A caption of some length", run_time=RUN)
    page = pypdf.PdfReader(path).pages[0]
    (_, lx, ly, size), (_, rx, ry, _) = [t for t in sized_shows(page) if t[2] < MARGIN + 12]
    left_text = "A caption of some length \u00b7 1 row \u00b7 run 2024-05-01 06:00 UTC"
    assert footer(page) == f"{left_text} Page 1 of 1"
    assert ly == ry and lx + FontMetrics(font, size).width(left_text) < rx
