"""One PDF file being written: a canvas, its pages as content streams, its cell cache.

No platypus: cells are measured with the font's advance widths and drawn as text operators
straight into the page's content stream; each finished page is compressed at once and the
``Page N of M`` footer is a second stream filled in at save. Why and how fast:
docs/adr/0005-pdf-content-streams.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream
from reportlab.pdfgen.canvas import Canvas

from airflow_export.writers.pdf.layout import (
    MAX_WORD_SHRINK,
    MIN_SHRINK_FONT_SIZE,
)
from airflow_export.writers.pdf.table import Table
from airflow_export.writers.pdf.text import fit_font_size, truncate_lines, wrap_text
from airflow_export.writers.values import NONE_TYPE, format_column, format_value

#: zlib level for page streams (1 = fastest; the streams are repetitive text operators).
COMPRESSION_LEVEL = 1
#: Cached cells per column and file before the cache is emptied (bounds memory for unique texts).
CELL_CACHE_LIMIT = 20_000

_PAGE_REFS = ("Parent", "ID")
_EMPTY_CELL = ("", 0)


def _baseline_mark(line: int) -> str:
    """Placeholder for the baseline y of line ``line`` of a cell (replaced per row)."""
    return chr(0x100 + line)


_MARK0 = _baseline_mark(0)

_VALUE_KEYED_TYPES = {str, int, float}
#: Values of these types (and subclasses) are text: they wrap. Every other value type is
#: *atomic* (numbers, dates/times, durations, booleans, UUIDs ...): drawn on one line, shrunk
#: to fit (see :func:`airflow_export.writers.pdf.layout.fit_font_size`). ``None`` (the null
#: marker) counts as text.
_TEXT_TYPES = (str, bytes, bytearray, memoryview, dict, list)
_ATOMIC_BY_TYPE: dict[type, bool] = {NONE_TYPE: False, str: False, int: True, float: True}


def _is_atomic(value_type: type) -> bool:
    """True if values of ``value_type`` are drawn on one line (never wrapped), see :data:`_TEXT_TYPES`."""
    try:
        return _ATOMIC_BY_TYPE[value_type]
    except KeyError:
        atomic = _ATOMIC_BY_TYPE[value_type] = not issubclass(value_type, _TEXT_TYPES)
        return atomic

_HEADER_GRAY = "0.85 g"
_STRIPE_GRAY = "0.95 g"
_RULE = "0.3 w 0.6 G"


def _fmt(value: float) -> str:
    return f"{value:.2f}"


class PdfFile:
    """One PDF file being written: a canvas, its page state and its cell cache."""

    def __init__(self, table: Table, fh: Any, title: str) -> None:
        self.table = t = table
        g = t.geometry
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
        <airflow_export.writers.pdf.fonts.FontSet.runs>`) are shown with the fallback font's
        subsets, the main font restored after them."""
        if self.ascii_ok and line.isascii():
            return f"({escapePDF(line.encode('ascii'))}) Tj"
        doc = self.doc
        runs = self.table.fonts.runs(line) if self.table.fonts.fallback_chars else None
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
            font = self.table.fonts.fallback if uses_fallback else self.font
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
        :data:`~airflow_export.writers.pdf.layout.MIN_SHRINK_FONT_SIZE`). Text: wrapped at
        spaces, a too-long word shrunk by up to
        :data:`~airflow_export.writers.pdf.layout.MAX_WORD_SHRINK` or else broken. A line
        wider than the column is drawn at its fitted size (``Tf`` before, the body size
        restored after), right-aligned in a numeric column like any other."""
        t = self.table
        metrics = t.metrics
        inner = t.inner[column]
        cleaned = t.prepare(text, t.places[column])
        size = t.geometry.font_size
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
        hpad = t.geometry.hpad
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
        t = self.table
        if not t.names:
            return ""
        g = t.geometry
        top = g.table_top
        ops = [f"q {_HEADER_GRAY} {_fmt(g.table_left)} {_fmt(t.body_top)} {_fmt(t.right - g.table_left)} "
               f"{_fmt(t.header_height)} re f Q", "BT 2 Tr 0.15 w", f"{self.font0} {self.size_str} Tf"]
        for column, lines in enumerate(t.header_lines):
            left = t.lefts[column]
            for k, line in enumerate(lines):
                if not line:
                    continue
                y = top - g.vpad - g.ascent - k * g.leading
                x = left + t.widths[column] - g.hpad - t.metrics.width(line) if t.numeric[column] else left + g.hpad
                ops.append(f"1 0 0 1 {_fmt(x)} {_fmt(y)} Tm {self._show(line, self.size_str)}")
        ops.append("0 Tr ET")
        return "\n".join(ops)

    def _make_title_ops(self, title: str) -> str:
        t = self.table
        g = t.geometry
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
        self.y = self.table.body_top
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
        has_none = NONE_TYPE in types
        types.discard(NONE_TYPE)
        if len(types) <= 1 and types <= _VALUE_KEYED_TYPES:
            vcache = self.value_caches[column]
            try:
                return list(map(vcache.__getitem__, values))
            except KeyError:
                by_value = self._value_cell
                return [vcache[v] if v in vcache else by_value(column, v) for v in values]
        texts = format_column(
            values, null_marker=self.table.null_marker, first_row=first_row, column=self.table.names[column]
        )
        kinds = {_is_atomic(t) for t in types}
        if True in kinds and (has_none or False in kinds):  # text and atomic values mixed
            caches = (self.caches[column], self.atomic_caches[column])
            cell = self._cell
            out = []
            for value, text in zip(values, texts, strict=False):
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
        text = format_value(value, null_marker=self.table.null_marker, column=self.table.names[column])
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
        t = self.table
        g = t.geometry
        entries = [self._entries(j, values, first_row) for j, values in enumerate(columns)]
        ops_by_column = []
        lines_by_column = []
        for column_entries in entries:
            ops, lines = zip(*column_entries, strict=False)
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
        for row, lines in zip(zip(*ops_by_column, strict=False), row_lines, strict=False):
            height = one_line if lines <= 1 else g.row_height(lines)
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
        t = self.table
        g = t.geometry
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
        t = self.table
        g = t.geometry
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


