"""Cell text for the PDF writer: cleaning, shrink-to-fit, wrapping and truncation.

Pure functions, lengths in points. The rules (atomic values shrink, text wraps, long words
shrink up to 30 % or break after punctuation, tall cells end with a marker): docs/formats.md,
"PDF layout".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from airflow_export.writers.pdf.fonts import FontMetrics
from airflow_export.writers.pdf.layout import (
    BREAK_AFTER,
    BREAK_BEFORE,
    MIN_SHRINK_FONT_SIZE,
    TRUNCATION_MARKER,
)

_SHORT_MARKER = "\u2026+{n}"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINES = re.compile("\r\n|[\r\u2028\u2029\x85]")


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


def fit_font_size(width: float, size: float, max_width: float, floor: float = MIN_SHRINK_FONT_SIZE) -> float | None:
    """The font size at which a text fits ``max_width`` on one line (shrink to fit).

    Text width is proportional to the font size (a sum of advance widths x size / 1000, see
    :class:`~airflow_export.writers.pdf.fonts.FontMetrics`), so the size is
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


@dataclass
class TruncationLog:
    """The cells of one export cut by :func:`truncate_lines`: how many, and the first one
    (1-based row, column name), for the one log warning per export."""

    cells: int = 0
    first: tuple[int, str] | None = None

    def add(self, cells: int, row: int, column: str) -> None:
        if cells:
            self.cells += cells
            if self.first is None or row < self.first[0]:
                self.first = (row, column)

    def message(self) -> str | None:
        """The warning's text (after ``PDF <path>: ``), or None if nothing was cut."""
        if self.first is None:
            return None
        row, column = self.first
        return (f"{self.cells:,} cell(s) truncated to fit (marker {TRUNCATION_MARKER.format(n='N')!r}); "
                f"the first at row {row:,}, column {column!r}")


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



#: Where a header may break: after a space, ``_`` or ``-``, and at a camelCase step
#: (``orderDate`` -> ``order|Date``, ``HTTPStatus`` -> ``HTTP|Status``, ``col2Name`` -> ``col2|Name``).
_HEADER_BREAKS = re.compile(r"(?<=[ _\-])(?=.)|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def header_pieces(text: str) -> list[str]:
    """A header's words: ``text`` cut at :data:`_HEADER_BREAKS`, each separator kept at the end
    of its piece (``"column_number_001"`` -> ``["column_", "number_", "001"]``)."""
    return [piece for piece in _HEADER_BREAKS.split(text) if piece]


def header_word_width(text: str, metrics: FontMetrics) -> float:
    """The width of the widest word of a header (:func:`header_pieces`, trailing space
    dropped): the narrowest column that keeps every word of the header whole."""
    return max((metrics.width(piece.rstrip(" ")) for line in text.split("\n") for piece in header_pieces(line)),
               default=0.0)


def wrap_header(text: str, max_width: float, metrics: FontMetrics) -> list[str]:
    """Header lines no wider than ``max_width``, broken only between the words of
    :func:`header_pieces` (a space at a break is dropped); a single word wider than the column
    is broken like a cell word (:func:`_break_word`).

    At 10 pt in a 60 pt column: ``"column_number_001"`` -> ``["column_", "number_001"]``.
    """
    width = metrics.width
    lines: list[str] = []
    for para in text.split("\n"):
        current = ""
        for piece in header_pieces(para):
            candidate = current + piece
            if width(candidate.rstrip(" ")) <= max_width:
                current = candidate
                continue
            if current:
                lines.append(current.rstrip(" "))
            current = piece
            if width(piece.rstrip(" ")) > max_width:
                broken = _break_word(piece.rstrip(" "), max_width, metrics)
                lines.extend(broken[:-1])
                current = broken[-1] + (" " if piece.endswith(" ") else "")
        lines.append(current.rstrip(" "))
    return lines
