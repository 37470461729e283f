"""Page geometry, column widths, line wrapping and cell truncation for the PDF writer.

Pure functions and data (no PDF output here), all lengths in PostScript points
(1/72 inch), PDF coordinates (origin bottom left, y up).

Page layout, top to bottom (``fs`` = body font size)::

    margin (24 pt)
    title line            title_size = max(8, 1.5 fs), block 1.5 x title_size
    table: header row     repeated on every page
           data rows      one or more lines each; line height (leading) 1.2 fs,
                          0.25 fs padding above and below -> a one-line row is 1.7 fs
    footer line           "Page N of M", block 2 x footer_size, footer_size = max(6, fs)
    margin (24 pt)

Cells are padded 0.4 fs left and right. How a cell's text meets its column's inner width
(the writer decides which kind a value is, see :mod:`airflow_export.writers.pdf_writer`):

* **Atomic values** (numbers, dates/times, durations, booleans, UUIDs: anything that is not
  ``str``/``bytes``/JSON) are never wrapped: text wider than the column is drawn on one line at
  the size :func:`fit_font_size` gives (shrink to fit, 0.01 pt steps, no smaller than
  :data:`MIN_SHRINK_FONT_SIZE`); only below that floor are they wrapped like text, so nothing
  is ever lost.
* **Text** wraps at spaces (:func:`wrap_text`). A single word wider than the column (an
  e-mail address, a URL, an identifier) is kept whole on a line of its own, drawn smaller,
  if that needs a shrink of at most :data:`MAX_WORD_SHRINK` (30 %); otherwise it is broken,
  preferably after punctuation (:data:`BREAK_AFTER`) or before ``@``/opening brackets
  (:data:`BREAK_BEFORE`), between any two characters only when there is no such place.

Column widths come from the header and the first page of rows (:func:`fit_column_widths`);
a numeric column is given at least the width of :data:`NUMERIC_MIN_DIGITS` (7) digits,
room for later, longer numbers (see :func:`numeric_min_width`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4, letter

from airflow_export.writers.pdf_fonts import FontMetrics

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
_SHORT_MARKER = "\u2026+{n}"

# C0/C1 control characters (other than \t \n \r, handled separately): shown as U+FFFD.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINES = re.compile("\r\n|[\r\u2028\u2029\x85]")


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
            raise ValueError(f"page_size must be 'A4', 'letter' or (width, height) in points, got {page_size!r}") from None
    else:
        try:
            w, h = (float(v) for v in page_size)
        except (TypeError, ValueError):
            raise ValueError(f"page_size must be 'A4', 'letter' or (width, height) in points, got {page_size!r}") from None
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


def clean_text(text: str, replacement: str = "\ufffd") -> str:
    """Cell text ready for drawing: Unicode normalisation form C, newlines (CR LF, CR, NEL,
    U+2028/9) normalised to ``\\n``, tab -> space, other C0/C1 control characters ->
    ``replacement`` (visible, instead of nothing or a "missing glyph").

    NFC (Unicode Standard Annex #15, :func:`unicodedata.normalize`) composes a base letter and
    its combining marks into one precomposed character where Unicode has one: ``"e\\u0301"``
    (decomposed, as macOS file names and some databases store it) becomes ``"\\u00e9"``, which
    fonts have as one glyph, where the bare U+0301 COMBINING ACUTE ACCENT often has none. So a
    PDF reader extracts the composed form. Compatibility characters are left alone (NFC is not
    NFKC): the ligature ``"\\ufb01"`` stays one character.

    ``"a\\r\\nb"`` -> ``"a\\nb"``; ``"a\\tb"`` -> ``"a b"``; ``"a\\x00b"`` -> ``"a\\ufffdb"``;
    ``"e\\u0301"`` -> ``"\\u00e9"``.

    :param text: a cell's text.
    :param replacement: what a control character becomes (U+FFFD REPLACEMENT CHARACTER by
        default; the writer passes U+25A1 WHITE SQUARE if its font has no U+FFFD).
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)  # returns ``text`` itself if already NFC
    if text.isprintable():
        return text
    text = _NEWLINES.sub("\n", text).replace("\t", " ")
    return _CONTROL.sub(replacement, text)


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


def fit_font_size(width: float, size: float, max_width: float, floor: float = MIN_SHRINK_FONT_SIZE) -> float | None:
    """The font size at which a text fits ``max_width`` on one line (shrink to fit).

    Text width is proportional to the font size (a sum of advance widths x size / 1000, see
    :class:`~airflow_export.writers.pdf_fonts.FontMetrics`), so the size is
    ``size x max_width / width``, rounded *down* to 0.01 pt (the writer prints sizes with
    2 decimals; rounding down keeps the drawn text inside ``max_width``).

    ``fit_font_size(50, 10, 100)`` -> ``10`` (fits as is); ``fit_font_size(120, 10, 100)`` -> ``8.33``;
    ``fit_font_size(400, 10, 100)`` -> ``None`` (2.5 pt is below the 3 pt floor).

    :param width: the text's width in points at ``size``.
    :param size: the normal font size in points.
    :param max_width: room on the line in points.
    :param floor: smallest acceptable size in points.
    :returns: ``size`` if the text fits, else the shrunk size, or ``None`` if that is below ``floor``.
    """
    if width <= max_width:
        return size
    fitted = math.floor(size * max_width / width * 100.0) / 100.0
    if fitted * width / size > max_width:  # float rounding at an exact multiple of 0.01
        fitted = round(fitted - 0.01, 2)
    return fitted if fitted >= floor else None


def _break_opportunities(word: str) -> list[bool]:
    """``result[i]``: the word may be broken before character ``i`` (after a :data:`BREAK_AFTER`
    character or before a :data:`BREAK_BEFORE` one); ``result[0]`` is False."""
    marks = [False] * len(word)
    for i in range(1, len(word)):
        if word[i - 1] in BREAK_AFTER or word[i] in BREAK_BEFORE:
            marks[i] = True
    return marks


def _greedy_pieces(word: str, widths: list[float], max_width: float, marks: list[bool] | None) -> list[str]:
    """Greedy split of ``word``: each piece the longest prefix no wider than ``max_width`` (at
    least one character), cut back to its last break opportunity in ``marks`` if it has one."""
    pieces = []
    start = 0
    used = 0.0
    index = 0
    n = len(word)
    while index < n:
        w = widths[index]
        if used + w > max_width and index > start:
            cut = index
            if marks is not None:
                for candidate in range(index, start, -1):
                    if marks[candidate]:
                        cut = candidate
                        break
            pieces.append(word[start:cut])
            start = cut
            used = sum(widths[cut:index])
            continue  # re-measure character ``index`` on the new line
        used += w
        index += 1
    pieces.append(word[start:])
    return pieces


def _break_word(word: str, max_width: float, metrics: FontMetrics) -> list[str]:
    """Split one word into pieces no wider than ``max_width`` (at least one character each).

    Greedy, each piece the longest prefix that fits, cut back to its last break opportunity
    (see :func:`_break_opportunities`) if it has one, e.g. at 10 pt in 60 pt
    ``"order-2024-000123-XYZ"`` -> ``["order-2024-", "000123-XYZ"]`` rather than
    ``["order-2024-0", "00123-XYZ"]``; but only if
    that takes no more pieces than breaking between any characters (the fewest possible),
    else the word is broken between characters (a report's rows should not grow taller for
    nicer breaks: ``"user1991@example.com"`` in a 10-character column stays
    ``["user1991@e", "xample.com"]`` instead of three lines).
    """
    widths = metrics.char_widths(word)
    plain = _greedy_pieces(word, widths, max_width, None)
    if len(plain) == 1:
        return plain
    nicer = _greedy_pieces(word, widths, max_width, _break_opportunities(word))
    return nicer if len(nicer) <= len(plain) else plain


def wrap_text(
    text: str,
    max_width: float,
    metrics: FontMetrics,
    max_shrink: float = 0.0,
    floor: float = MIN_SHRINK_FONT_SIZE,
) -> list[str]:
    """Greedy word wrap of ``text`` into lines no wider than ``max_width`` points.

    Lines break at ``\\n`` and at spaces; a word wider than a line is broken (see
    :func:`_break_word`: after punctuation where possible, else between characters). Spaces
    at a break are dropped. Widths come from the font's advance widths (:class:`FontMetrics`),
    so a line never runs past ``max_width`` (a single character wider than ``max_width``
    still gets a line of its own).

    With ``max_shrink`` > 0 a word wider than a line is instead kept whole, alone on its
    line, if :func:`fit_font_size` fits it at ``(1 - max_shrink) x metrics.size`` or more
    (and at least ``floor``): such a line is the only kind wider than ``max_width``, and
    the caller draws it at ``fit_font_size(width(line), size, max_width, floor)``.

    ``wrap_text("", w, m)`` -> ``[""]``. At 10 pt (digit 6.0 pt) and 30 pt:
    ``"000000"`` -> ``["00000", "0"]``; with ``max_shrink=0.3`` -> ``["000000"]`` (at 8.33 pt).

    :param text: cleaned text (see :func:`clean_text`).
    :param max_width: line width in points.
    :param metrics: font and size to measure with.
    :param max_shrink: fraction of the font size a too-long word may lose instead of being
        broken, in [0, 1); 0 (default) never shrinks.
    :param floor: smallest font size in points a word may be shrunk to.
    """
    width = metrics.width
    space = width(" ")
    size = metrics.size
    smallest = max(size * (1.0 - max_shrink), floor) - 1e-9
    lines: list[str] = []
    for para in text.split("\n"):
        if width(para) <= max_width:
            lines.append(para)
            continue
        first = len(lines)
        current: str | None = None
        used = 0.0
        for word in para.split(" "):
            w = width(word)
            if current:
                if used + space + w <= max_width:
                    current = f"{current} {word}"
                    used += space + w
                    continue
                lines.append(current)
                current, used = None, 0.0
            if w <= max_width:
                current, used = word, w
                continue
            if max_shrink > 0:
                fitted = fit_font_size(w, size, max_width, floor)
                if fitted is not None and fitted >= smallest:
                    lines.append(word)
                    current, used = None, 0.0
                    continue
            pieces = _break_word(word, max_width, metrics)
            lines.extend(pieces[:-1])
            current = pieces[-1]
            used = width(current)
        if current is not None and (current or len(lines) == first):
            lines.append(current)
    return lines


def truncate_lines(lines: list[str], max_lines: int, wrap: Callable[[str], list[str]]) -> list[str]:
    """At most ``max_lines`` lines; if some are cut, the last lines say how many.

    The marker ``… [+N lines truncated]`` (N = lines not shown) is itself wrapped with
    ``wrap`` and takes the place of the last lines; in a very narrow cell the short form
    ``…+N`` is used. ``truncate_lines(["a", "b", "c"], 2, lambda s: [s])`` ->
    ``["a", "… [+2 lines truncated]"]``.

    :param lines: the wrapped lines of a cell.
    :param max_lines: the limit, >= 1.
    :param wrap: wraps a marker text into lines of the cell's width.
    """
    if len(lines) <= max_lines:
        return lines
    for template in (TRUNCATION_MARKER, _SHORT_MARKER):
        keep = max_lines - 1
        while keep >= 0:
            marker = wrap(template.format(n=len(lines) - keep))
            if keep + len(marker) <= max_lines:
                return lines[:keep] + marker
            keep -= 1
    return wrap(_SHORT_MARKER.format(n=len(lines)))[:max_lines]
