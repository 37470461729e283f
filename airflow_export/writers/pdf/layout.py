"""Page geometry and column widths for the PDF writer.

Pure functions and data (no PDF output here), all lengths in PostScript points (1/72 inch), PDF
coordinates (origin bottom left, y up). The page layout and the width rules: docs/formats.md
("PDF layout"); cell text rules: :mod:`airflow_export.writers.pdf.text`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4, letter

from airflow_export.writers.pdf.fonts import FontMetrics

#: Named page sizes (portrait width, height in points): ISO 216 A4 and US Letter.
PAGE_SIZES: dict[str, tuple[float, float]] = {"a4": A4, "letter": letter}

MARGIN = 24.0
LEADING_FACTOR = 1.2
VPAD_FACTOR = 0.25
HPAD_FACTOR = 0.4
#: Automatic font size: the largest size in this range (step 0.25 pt) that fits the rows.
AUTO_FONT_SIZE_RANGE = (5.0, 10.0)
#: Narrowest column: padding plus this many font sizes (2 em, room for any glyph).
MIN_COLUMN_EMS = 2.0
#: No automatic column is wider than this fraction of the table (when there are 2+ columns).
MAX_COLUMN_FRACTION = 0.5
#: At most this many lines for a header cell.
MAX_HEADER_LINES = 4
#: Smallest font size (points) a value or word is shrunk to; below it the text is wrapped instead.
MIN_SHRINK_FONT_SIZE = 3.0
#: A text word wider than its column is drawn smaller (on a line of its own) if this fraction of
#: the font size or less has to go, i.e. at >= 70 % of the body size; else it is broken.
MAX_WORD_SHRINK = 0.30
#: A numeric column is at least this many digits wide (plus padding), or its header if wider.
NUMERIC_MIN_DIGITS = 7
#: A long word may be broken after one of these characters ...
BREAK_AFTER = frozenset("-/\\_.,;:!?&=+|)]}")
#: ... or before one of these.
BREAK_BEFORE = frozenset("@([{")
#: The text that replaces the lines of a cell beyond its limit.
TRUNCATION_MARKER = "\u2026 [+{n} lines truncated]"

# C0/C1 control characters (other than \t \n \r, handled separately): shown as U+FFFD.


@dataclass(frozen=True)
class PageGeometry:
    """Where things go on a page, in points.

    :param width: page width.
    :param height: page height.
    :param font_size: body (cell) font size.
    :param title_size: title font size.
    :param footer_size: footer ("Page N of M") font size.
    """

    width: float
    height: float
    font_size: float
    title_size: float
    footer_size: float

    @property
    def margin(self) -> float:
        """Page margin on every side."""
        return MARGIN

    @property
    def leading(self) -> float:
        """Baseline-to-baseline distance of the lines of one cell."""
        return self.font_size * LEADING_FACTOR

    @property
    def vpad(self) -> float:
        """Space above the first and below the last line of a row."""
        return self.font_size * VPAD_FACTOR

    @property
    def hpad(self) -> float:
        """Space left and right of the text of a cell."""
        return self.font_size * HPAD_FACTOR

    @property
    def ascent(self) -> float:
        """Distance from the top of a line to its baseline (0.8 em)."""
        return self.font_size * 0.8

    @property
    def table_left(self) -> float:
        return MARGIN

    @property
    def table_width(self) -> float:
        """Width available to the table (page width minus both margins)."""
        return self.width - 2 * MARGIN

    @property
    def title_baseline(self) -> float:
        return self.height - MARGIN - self.title_size

    @property
    def table_top(self) -> float:
        return self.height - MARGIN - 1.5 * self.title_size

    @property
    def table_bottom(self) -> float:
        return MARGIN + 2 * self.footer_size

    @property
    def footer_baseline(self) -> float:
        return MARGIN + 0.5 * self.footer_size

    def row_height(self, lines: int) -> float:
        """Height of a row whose tallest cell has ``lines`` lines."""
        return lines * self.leading + 2 * self.vpad


_PAGE_SIZE_ERROR = "page_size must be 'A4', 'letter' or (width, height) in points, got {!r}"


def resolve_page_size(page_size: str | Sequence[float], landscape: bool) -> tuple[float, float]:
    """Page (width, height) in points.

    :param page_size: ``"A4"`` or ``"letter"`` (case-insensitive), or ``(width, height)`` in points.
    :param landscape: make the longer side horizontal (else the shorter).
    :raises ValueError: unknown name or non-positive/too small size, naming ``page_size``.
    """
    if isinstance(page_size, str):
        try:
            w, h = PAGE_SIZES[page_size.lower()]
        except KeyError:
            raise ValueError(_PAGE_SIZE_ERROR.format(page_size)) from None
    else:
        try:
            w, h = (float(v) for v in page_size)
        except (TypeError, ValueError):
            raise ValueError(_PAGE_SIZE_ERROR.format(page_size)) from None
        if not (w >= 144 and h >= 144 and math.isfinite(w) and math.isfinite(h)):
            raise ValueError(f"page_size must be at least 144 x 144 points, got {page_size!r}")
    short, long_ = sorted((w, h))
    return (long_, short) if landscape else (short, long_)


def _geometry(width: float, height: float, font_size: float) -> PageGeometry:
    return PageGeometry(width, height, font_size, max(8.0, 1.5 * font_size), max(6.0, font_size))


def auto_font_size(width: float, height: float, rows_per_page: int) -> float:
    """Largest font size in :data:`AUTO_FONT_SIZE_RANGE` (0.25 pt steps) at which a header and
    ``rows_per_page`` one-line rows fit on one page; the smallest size if none does.

    Landscape A4 with 50 rows: 6.0 pt.
    """
    low, high = AUTO_FONT_SIZE_RANGE
    size = high
    while size > low:
        g = _geometry(width, height, size)
        if (rows_per_page + 1) * g.row_height(1) <= g.table_top - g.table_bottom:
            return size
        size -= 0.25
    return low


def page_geometry(width: float, height: float, font_size: float | None, rows_per_page: int) -> PageGeometry:
    """The geometry for a page size and font size (``None``: :func:`auto_font_size`).

    :raises ValueError: ``font_size`` not a number in [3, 72], naming ``font_size``.
    """
    if font_size is None:
        font_size = auto_font_size(width, height, rows_per_page)
    elif isinstance(font_size, bool) or not isinstance(font_size, (int, float)) or not 3 <= font_size <= 72:
        raise ValueError(f"font_size must be a number of points in [3, 72], got {font_size!r}")
    g = _geometry(width, height, float(font_size))
    if g.table_top - g.table_bottom < 3 * g.row_height(1):
        raise ValueError(f"font_size {font_size} is too large for a {width:g} x {height:g} pt page")
    return g


def min_column_width(geometry: PageGeometry) -> float:
    """Narrowest allowed column, in points: both paddings plus 2 em."""
    return 2 * geometry.hpad + MIN_COLUMN_EMS * geometry.font_size


def fit_column_widths(wanted: Sequence[float], available: float, minimum: float) -> list[float]:
    """Column widths that fill ``available`` points, from each column's wanted width.

    Each wanted width is first bounded to [``minimum``, :data:`MAX_COLUMN_FRACTION` x
    ``available``] (the upper bound only with 2+ columns). If they fit, all grow in
    proportion to fill the width; if not, the narrow columns keep their width and the
    wide ones share what is left equally ("water filling": every width is
    ``min(wanted, cap)`` for the one cap that makes the sum ``available``).

    ``fit_column_widths([10, 30], 80, 5)`` -> ``[20.0, 60.0]``;
    ``fit_column_widths([10, 50, 60], 70, 5)`` -> ``[10.0, 30.0, 30.0]``.

    :param wanted: natural width of each column (widest text plus padding).
    :param available: total width.
    :param minimum: narrowest allowed column.
    :raises ValueError: the columns cannot fit even at ``minimum`` each (names the count).
    """
    n = len(wanted)
    if n == 0:
        return []
    if n * minimum > available + 1e-9:
        raise ValueError(
            f"{n} columns do not fit across the page: each needs at least {minimum:.1f} pt and the table is "
            f"{available:.1f} pt wide ({n} x {minimum:.1f} = {n * minimum:.1f} pt)"
        )
    upper = available * MAX_COLUMN_FRACTION if n > 1 else available
    upper = max(upper, minimum)
    bounded = [min(max(w, minimum), upper) for w in wanted]
    total = sum(bounded)
    if total <= available:
        scale = available / total
        return [w * scale for w in bounded]
    # Water filling: the smallest cap c with sum(min(w, c)) == available.
    remaining = available
    ordered = sorted(bounded)
    cap = ordered[-1]
    for index, w in enumerate(ordered):
        share = remaining / (n - index)
        if w >= share:
            cap = share
            break
        remaining -= w
    return [min(w, cap) for w in bounded]


def numeric_min_width(geometry: PageGeometry, metrics: FontMetrics) -> float:
    """Narrowest automatic width of a numeric column, in points: :data:`NUMERIC_MIN_DIGITS`
    digits (``"0000000"``, digits share one advance width in most fonts) plus both paddings.

    Widths are decided from the first page of rows (streaming: later rows are not known);
    this reserves room for ids and amounts that grow later (ids 1..50 on page 1 of a
    2,000-row export still get room for ``2000``). The header, if wider, wins anyway: the
    wanted width is the widest of header, first-page values and this.

    At 6 pt with WenQuanYi Zen Hei: 7 x 3.598 + 2 x 2.4 = 29.98 pt.
    """
    return metrics.width("0" * NUMERIC_MIN_DIGITS) + 2 * geometry.hpad


#: The smallest automatic font size we call legible: a table whose columns do not fit at their
#: minimum widths is split into column groups (:func:`column_groups`) rather than shrunk below it.
MIN_LEGIBLE_FONT_SIZE = 5.0


def fit_widths(minimums: Sequence[float], wanted: Sequence[float], available: float) -> list[float]:
    """Column widths that fill ``available`` points, each at least its minimum.

    If the wanted widths (bounded to [minimum, :data:`MAX_COLUMN_FRACTION` x ``available``])
    fit, they grow in proportion (:func:`fit_column_widths`); else every column gets
    ``max(minimum, min(wanted, cap))`` for the one cap that fills the width: narrow columns
    keep what they want, long text columns share the rest (and wrap).

    ``fit_widths([10, 40, 10], [10, 100, 100], 100)`` -> ``[10, 45, 45]``.

    :param minimums: narrowest width of each column (a header word whole, a number on one line).
    :param wanted: natural width of each column (its widest text plus padding).
    :param available: total width, at least ``sum(minimums)``.
    """
    n = len(wanted)
    if n == 0:
        return []
    upper = max(available * MAX_COLUMN_FRACTION if n > 1 else available, *minimums)
    bounded = [min(max(w, m), max(upper, m)) for w, m in zip(wanted, minimums, strict=True)]
    if sum(bounded) <= available:
        return fit_column_widths(bounded, available, min(minimums))
    low, high = 0.0, max(bounded)
    for _ in range(60):  # bisection on the cap; 60 halvings are far below 0.01 pt
        cap = (low + high) / 2
        if sum(max(m, min(w, cap)) for w, m in zip(bounded, minimums, strict=True)) > available:
            high = cap
        else:
            low = cap
    return [max(m, min(w, low)) for w, m in zip(bounded, minimums, strict=True)]


def column_groups(minimums: Sequence[float], available: float, keys: int) -> list[list[int]]:
    """The columns of a table too wide for one page, in groups printed one after another
    ("page across, then down"): every group starts with the ``keys`` first columns and takes
    as many of the following columns, in order, as fit at their given widths (why:
    docs/adr/0072-pdf-column-groups-and-orientation.md).

    One group (all columns) if they all fit. ``column_groups([50] * 5, 160, 1)`` ->
    ``[[0, 1, 2], [0, 3, 4]]``.

    :raises ValueError: the key columns and one more column do not fit (says their widths).
    """
    n = len(minimums)
    if sum(minimums) <= available + 1e-6:
        return [list(range(n))]
    keys = min(keys, n - 1)
    key_width = sum(minimums[:keys])
    groups: list[list[int]] = []
    current: list[int] = []
    used = key_width
    for column in range(keys, n):
        need = minimums[column]
        if current and used + need > available + 1e-6:
            groups.append(list(range(keys)) + current)
            current, used = [], key_width
        if not current and used + need > available + 1e-6:
            raise ValueError(
                f"column {column + 1} needs {need:.1f} pt and the {keys} key column(s) {key_width:.1f} pt; "
                f"the table is {available:.1f} pt wide: use fewer key_columns, a larger page_size "
                "or a smaller font_size"
            )
        current.append(column)
        used += need
    groups.append(list(range(keys)) + current)
    return groups
