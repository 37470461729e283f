"""The drawing of cells: text operators per cell text, cached per column and file.

A cell's operators draw every line of its text at its x position, with a placeholder where the
row's baseline y goes (filled in per row by :class:`~airflow_export.writers.pdf.page.PdfFile`),
so a repeated value costs one dict lookup (the caches and their byte budget:
:mod:`~airflow_export.writers.pdf.cell_cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_export.writers.pdf.cell_cache import CellCache, Kind
from airflow_export.writers.pdf.document import StreamingPdfDocument
from airflow_export.writers.pdf.layout import MAX_WORD_SHRINK, MIN_SHRINK_FONT_SIZE
from airflow_export.writers.pdf.table import Table
from airflow_export.writers.pdf.text import fit_font_size, truncate_lines, wrap_text
from airflow_export.writers.values import NONE_TYPE, format_column, format_value


class CutLines(int):
    """A cell's line count when :func:`truncate_lines` cut it (counted for the export's
    truncation warning; an ``int`` everywhere else)."""


def baseline_mark(line: int) -> str:
    """Placeholder for the baseline y of line ``line`` of a cell (replaced per row)."""
    return chr(0x100 + line)


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


def fmt(value: float) -> str:
    """A length or size as PDF operators print it: 2 decimals."""
    return f"{value:.2f}"


class CellDrawer:
    """The cell operators of one PDF file (the font subsets are per document), cached.

    :param table: the export's table.
    :param doc: the file's document (font subsets are numbered per document); its
        :meth:`~airflow_export.writers.pdf.document.StreamingPdfDocument.show` draws the text.
    """

    def __init__(self, table: Table, doc: StreamingPdfDocument) -> None:
        self.table = table
        self.doc: StreamingPdfDocument | None = doc
        self.font0 = doc.font0
        self.show = doc.show
        self.size_str = fmt(table.geometry.font_size)
        #: the cached cells of the file, by column and kind (text, atomic text, value by type)
        self.cache = CellCache(len(table.names))
        #: the columns where a cell was cut (only these are searched for :class:`CutLines`)
        self.cut_columns: set[int] = set()

    def release(self) -> None:
        """Drop the caches and the document (the file is saved; nothing of it stays in memory)."""
        self.cache.clear()
        self.doc = None

    def cell(self, column: int, text: str, atomic: bool = False) -> tuple[str, int]:
        """The drawing of one cell text (see :meth:`draw`), from the cache or drawn and cached."""
        entry = self.cache.get(column, atomic, text)
        if entry is None:
            entry = self.cache.put(column, atomic, text, self.draw(column, text, atomic))
        return entry

    def draw(self, column: int, text: str, atomic: bool = False) -> tuple[str, int]:
        """The drawing of one cell text: ``(operators, lines)``.

        ``operators`` draw every line of the cell at its x position, with the placeholder
        :func:`baseline_mark` ``(k)`` where the baseline y of line ``k`` goes (the operators
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
        if numeric and atomic and "\n" not in cleaned:
            number = self._number(column, cleaned)
            if number is not None:
                return number, 1 if text else 0
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
            wrapped = wrap_text(cleaned, inner, metrics, 0.0 if atomic else MAX_WORD_SHRINK, MIN_SHRINK_FONT_SIZE)
            lines = truncate_lines(wrapped, t.max_lines, lambda s: wrap_text(s, inner, metrics))
            if len(wrapped) > t.max_lines:
                self.cut_columns.add(column)
                return self._ops(column, lines, None), CutLines(len(lines))
        return self._ops(column, lines, single), len(lines) if text else 0

    def _ops(self, column: int, lines: list[str], single: float | None) -> str:
        """The operators of a cell's ``lines`` (see :meth:`cell`; ``single``: the width of its
        one line if known, -1.0 if it surely fits)."""
        t = self.table
        metrics = t.metrics
        inner = t.inner[column]
        size = t.geometry.font_size
        numeric = t.numeric[column]
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
                out.append(f"1 0 0 1 {left + hpad:.2f} {baseline_mark(k)} Tm {self.show(line, self.size_str)}\n")
                continue
            else:
                w = single
            fitted = fit_font_size(w, size, inner) if w > inner else None
            if fitted is None:
                x = right - w if numeric else left + hpad
                out.append(f"1 0 0 1 {x:.2f} {baseline_mark(k)} Tm {self.show(line, self.size_str)}\n")
            else:
                small = fmt(fitted)
                x = right - w * fitted / size if numeric else left + hpad
                out.append(
                    f"1 0 0 1 {x:.2f} {baseline_mark(k)} Tm {self.font0} {small} Tf "
                    f"{self.show(line, small)} {self.font0} {self.size_str} Tf\n"
                )
        return "".join(out)

    def _number(self, column: int, cleaned: str) -> str | None:
        """The operators of a number in a numeric column: one line at the column's one size
        (:attr:`Table.sizes <airflow_export.writers.pdf.table.Table.sizes>`), right-aligned,
        its decimal point where the column's points line up (if the column's sample has plain
        decimals and this one fits that way); a number wider than any of the sample is shrunk
        on its own. None: it does not fit even at the smallest size (it wraps like text). Why:
        docs/adr/0071-pdf-numeric-columns-one-size.md."""
        t = self.table
        size = t.geometry.font_size
        column_size = t.sizes[column]
        scale = column_size / size
        width = t.metrics.width(cleaned) * scale
        inner = t.inner[column]
        right = t.lefts[column] + t.widths[column] - t.geometry.hpad
        draw_size = column_size
        if width > inner:
            fitted = fit_font_size(width, column_size, inner)
            if fitted is None:
                return None
            width, draw_size = width * fitted / column_size, fitted
        x = right - width
        room = t.measures[column].fraction * scale
        if room and draw_size == column_size:
            point = cleaned.find(".")
            fraction = t.metrics.width(cleaned[point:]) * scale if point >= 0 else 0.0
            aligned = x - room + fraction
            if right - inner - 1e-6 <= aligned and aligned + width <= right + 1e-6:  # else right-aligned
                x = aligned
        if draw_size == size:
            return f"1 0 0 1 {x:.2f} {baseline_mark(0)} Tm {self.show(cleaned, self.size_str)}\n"
        small = fmt(draw_size)
        return (f"1 0 0 1 {x:.2f} {baseline_mark(0)} Tm {self.font0} {small} Tf "
                f"{self.show(cleaned, small)} {self.font0} {self.size_str} Tf\n")

    def entries(self, column: int, values: Sequence[Any], first_row: int) -> list[tuple]:
        """The drawing of every cell of one column of a chunk (see :meth:`cell`); cut cells
        are counted in the table's :class:`~airflow_export.writers.pdf.text.TruncationLog`."""
        out = self._entries(column, values, first_row)
        if column in self.cut_columns:
            cut = [i for i, entry in enumerate(out) if type(entry[1]) is CutLines]
            if cut:
                self.table.truncation.add(len(cut), first_row + cut[0], self.table.names[column])
        return out

    def _entries(self, column: int, values: Sequence[Any], first_row: int) -> list[tuple]:
        """The drawing of every cell of one column of a chunk (see :meth:`cell`).

        Columns holding only ``str``, only ``int`` or only ``float`` values (and ``None``) are
        looked up by value (in the cache of that type: ``1`` and ``1.0`` have different texts),
        skipping the text conversion for values seen before (for these exact types equal values
        have equal text, except ``0.0``/``-0.0``, never cached); any other column is converted
        with :func:`~airflow_export.writers.values.format_column` (which names the row and
        column of an unrenderable value) and looked up by text, in the text or the atomic cache
        by the value's type (:func:`_is_atomic`).
        """
        types = set(map(type, values))
        has_none = NONE_TYPE in types
        types.discard(NONE_TYPE)
        if len(types) <= 1 and types <= _VALUE_KEYED_TYPES:
            kind = types.pop() if types else NONE_TYPE
            vcache = self.cache.table(column, kind)
            try:
                return list(map(vcache.__getitem__, values))
            except KeyError:
                by_value = self.value_cell
                return [vcache[v] if v in vcache else by_value(column, kind, v) for v in values]
        texts = format_column(
            values, null_marker=self.table.null_marker, first_row=first_row, column=self.table.names[column]
        )
        kinds = {_is_atomic(t) for t in types}
        cell = self.cell
        if True in kinds and (has_none or False in kinds):  # text and atomic values mixed
            caches = (self.cache.table(column, False), self.cache.table(column, True))
            out = []
            for value, text in zip(values, texts, strict=False):
                atomic = _is_atomic(type(value))
                entry = caches[atomic].get(text)
                out.append(cell(column, text, atomic) if entry is None else entry)
            return out
        atomic = True in kinds
        cache = self.cache.table(column, atomic)
        try:
            return list(map(cache.__getitem__, texts))
        except KeyError:
            return [cache[text] if text in cache else cell(column, text, atomic) for text in texts]

    def value_cell(self, column: int, kind: Kind, value: Any) -> tuple:
        """The drawing of ``value`` (of type ``kind``, or None) in ``column``: from the value
        cache, else drawn (or taken from the text cache) and cached by value."""
        cache = self.cache
        entry = cache.get(column, kind, value)
        if entry is not None:
            return entry
        text = format_value(value, null_marker=self.table.null_marker, column=self.table.names[column])
        atomic = _is_atomic(type(value))
        if type(value) is float and (value == 0.0 or value != value):
            # 0.0 and -0.0: equal keys, different texts; NaN: a key no other NaN object finds again
            return self.cell(column, text, atomic)
        return cache.put(column, kind, value, cache.get(column, atomic, text) or self.draw(column, text, atomic))
