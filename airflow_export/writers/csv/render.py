"""Rendering a chunk of rows into its CSV text: the join path and the :mod:`csv` path.

Both give the same bytes; the join path (``%`` formatting, no per-field quoting check) is
taken when no field of the chunk needs quotes (reason and measurements:
docs/adr/0001-csv-fast-path.md).
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable, Sequence
from itertools import compress, count
from typing import Any

from airflow_export.writers.csv.cells import holds_any
from airflow_export.writers.csv.chunk import KIND_MIXED, CsvChunk, csv_chunk
from airflow_export.writers.csv.options import CsvOptions
from airflow_export.writers.csv.stand_ins import StandIns

_TUPLE_ONLY = {tuple}


class ListSink:
    """A file-like ``write`` that appends to a list: csv.writer writes one string per row."""

    __slots__ = ("write",)

    def __init__(self, parts: list[str]) -> None:
        self.write = parts.append


def _stray_break_cell(row: Sequence[Any], chars: str) -> int | None:
    """Index of the first string cell of ``row`` holding one of ``chars``, or None."""
    for index, cell in enumerate(row):
        if isinstance(cell, str) and any(ch in cell for ch in chars):
            return index
    return None


# Characters the text of a number can hold: int, float repr, Decimal fixed-point, NaN, inf.
_NUMBER_CHARS = frozenset("0123456789.-+einfNa")


class ChunkRenderer:
    """Turns a batch into its final text, by one of two paths.

    Join path ("minimal"/"none" quoting with ``empty_string="quoted"``, the default): a
    field holding no delimiter, quote character, CR or LF is written as is by "minimal"
    quoting, so rows of such fields are made directly by ``%`` formatting (``"%s"`` per
    cell, i.e. ``str()``; nulls as the marker, empty texts as ``""``, marker-equal texts
    quoted): the whole chunk in one ``%`` when no row needs quotes and the chunk is one text,
    else one ``%`` per row. This skips the csv module's character-by-character quoting check,
    its costliest part.
    Which columns hold such a character is known from :func:`csv_chunk`
    (``str.join`` and C scans); in those columns a regex finds the rows, and these rows
    (if at most half of the chunk) are written by the csv path and put in their place.

    csv path (the other rows and chunks, and every chunk with other quoting): cells with
    stand-ins (:class:`StandIns`), :mod:`csv`, then what csv cannot do itself: quoting
    stray line breaks, the stand-in replacement.

    NaN: columns of floats and ``None`` are not checked cell by cell; csv and ``str()``
    write a NaN as ``nan``, so the chunk's text is searched for ``nan`` (a C scan) and, the
    first time it is found (a NaN, or only a word such as "banana"), the chunk is redone and
    every later chunk of the export checked per column.
    """

    def __init__(self, names: list[str], opts: CsvOptions, dialect: dict[str, Any], stray_breaks: str) -> None:
        self.names = names
        self.opts = opts
        self.dialect = dialect
        self.stray_breaks = stray_breaks
        self.parts: list[str] = []
        self.writer = csv.writer(ListSink(self.parts), **dialect)
        self.quote_all = csv.writer(ListSink(self.parts), **{**dialect, "quoting": csv.QUOTE_ALL})
        quoted = opts.empty_string == "quoted"
        self.stand_ins = StandIns.preferred(opts, len(names)) if quoted else None
        self.marker_text = self.stand_ins.marker_text if self.stand_ins is not None else None
        # quoting="none" cannot quote a text equal to the marker: such texts are counted
        # (one C count per text column, only in this mode) and refused.
        self.bare_marker = quoted and opts.quoting == csv.QUOTE_NONE and bool(opts.null_marker)
        if self.bare_marker:
            self.marker_text = opts.null_marker
        self.check_nan = False
        #: Text cells the formula guard prefixed with ``'`` so far (each batch counted once).
        self.guarded_cells = 0
        quotechar, marker = opts.quotechar, opts.null_marker
        minimal = opts.quoting == csv.QUOTE_MINIMAL
        self.join_path = (
            quoted and bool(names) and opts.quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE)
            and opts.delimiter not in _NUMBER_CHARS and quotechar not in _NUMBER_CHARS
        )
        self.special_chars = opts.delimiter + quotechar + "\r\n" if self.join_path else ""
        # The join path's row: "%s" per cell, the delimiter between ("%" escaped).
        self.row_format = opts.delimiter.replace("%", "%%").join(["%s"] * len(names))
        self._chunk_rows, self._chunk_fmt = -1, ""
        # Finds a character that needs quotes in a text: the rows the csv path must write.
        self.special_search = re.compile(f"[{re.escape(self.special_chars)}]").search if self.join_path else None
        # The join path's final texts: a null, an empty text, a text equal to the marker.
        self.null_text = marker
        self.empty_text = quotechar * 2 if minimal else None  # "none": "" stays an empty field
        self.marker_quoted = quotechar + marker + quotechar if minimal and marker else None

    def render(self, batch: Sequence[Sequence[Any]], first_row: int, per_row: bool) -> list[str]:
        """The final text of ``batch``: one string per row if ``per_row``, else one string.

        :raises ValueError: a field ``quoting="none"`` cannot write (naming row and column).
        :raises UnrenderableValueError: a value without a text form (naming row and column).
        """
        for _ in range(4):  # a NaN redo, then it must fit
            chunk = csv_chunk(batch, self.names, marker_text=self.marker_text, formula_guard=self.opts.formula_guard,
                              first_row=first_row, check_nan=self.check_nan, special_chars=self.special_chars)
            if self.bare_marker and chunk.marker_counts:
                self._refuse_marker_text(chunk, first_row)
            joined = self._join(chunk, first_row, per_row) if self.join_path else None
            if joined is None:
                texts = self._through_csv(chunk, first_row, per_row)
                self.guarded_cells += chunk.guarded_cells
                return texts
            texts, text = joined
            # "n" first: memchr, ~10x faster than the 3-character search when there is no "n".
            if chunk.unchecked_floats and "n" in text and "nan" in text:
                self.check_nan = True
                continue
            self.guarded_cells += chunk.guarded_cells
            return texts
        raise RuntimeError(f"rows {first_row}..{first_row + len(batch) - 1}: the NaN check did not settle")

    def _refuse_marker_text(self, chunk: CsvChunk, first_row: int) -> None:
        """quoting="none": raise for the first text cell equal to the null marker."""
        marker = self.opts.null_marker
        row, i = min((list(chunk.columns[i]).index(marker), i) for i in chunk.marker_counts)
        raise ValueError(
            f"row {first_row + row}, column {self.names[i]!r}: text {marker!r} equals the null marker and "
            "cannot be told from a null with quoting='none' (it cannot be quoted); use quoting='minimal' "
            "or a null_marker that does not occur in the data"
        )

    def _join(self, chunk: CsvChunk, first_row: int, per_row: bool) -> tuple[list[str], str] | None:
        """The join path: the texts (per row, or one) and the whole text; None when the csv
        path should write the whole chunk (quoting "none", or most rows need quotes).

        Rows holding a character that needs quotes are written by the csv path (as a batch
        of their own) and put in their place.
        """
        opts = self.opts
        if chunk.special_columns and opts.quoting == csv.QUOTE_NONE:
            return None  # the csv module raises, naming the row and column
        terminator = opts.lineterminator
        cells = chunk.cells(null_cell=self.null_text, empty_cell=self.empty_text, marker_cell=self.marker_quoted)
        columns = cells.columns
        quoted: list[int] = []
        if chunk.special_columns:
            # Only these columns are searched; a mixed column's number objects as their text
            # (the same str() the row format applies).
            columns = [
                list(map(str, column)) if kind is KIND_MIXED else column
                for column, kind in zip(columns, chunk.kinds, strict=False)
            ]
            # The rows with a text needing quotes; the texts put for "" and marker-equal
            # cells (these very objects) hold quote characters but are final already.
            search, own = self.special_search, (self.empty_text, self.marker_quoted)
            assert search is not None  # the join path always has one
            quoted = sorted({
                row for i in chunk.special_columns for row in compress(count(), map(search, columns[i]))
                if columns[i][row] is not own[0] and columns[i][row] is not own[1]
            })
            if 2 * len(quoted) > len(chunk.batch):
                return None
        flat = chunk.flat
        if not quoted and not per_row and flat is not None and chunk.raw_columns is not None:
            # The whole chunk in one C-level "%": str() of every cell (numbers included; the
            # stand-ins are texts already), the delimiters and line terminators, with no
            # per-row tuple or string. The changed columns are put back into the flat list
            # first (extended-slice assignment, C). ~2x faster than csv.writer.writerows on
            # the flights rows (bench/ANALYSIS.md).
            width = len(self.names)
            for i, (column, raw) in enumerate(zip(columns, chunk.raw_columns, strict=False)):
                if column is not raw:
                    flat[i::width] = column
            values = tuple(flat)
            text = self._chunk_format(len(chunk.batch)) % values
            return [text], text
        # One C-level "%" per row: ~1.6x faster than map(str) per column + str.join per row.
        rows: Iterable[Sequence[Any]] = chunk.batch
        if cells.changed or set(map(type, chunk.batch)) != _TUPLE_ONLY:
            rows = zip(*columns, strict=False)  # "%" takes a tuple only
        lines = list(map(self.row_format.__mod__, rows))
        if not quoted:
            text = terminator.join(lines) + terminator
            return ([line + terminator for line in lines] if per_row else [text]), text
        batch = chunk.batch
        sub = self.render_through_csv([batch[i] for i in quoted], first_row, per_row=True)
        lines = [line + terminator for line in lines]
        for index, line in zip(quoted, sub, strict=False):
            lines[index] = line
        text = "".join(lines)
        return (lines if per_row else [text]), text

    def _chunk_format(self, rows: int) -> str:
        """The format of ``rows`` whole rows: (row format + line terminator) * rows, cached
        for the last row count asked (the chunk size, but for the last chunk)."""
        if self._chunk_rows != rows:
            self._chunk_rows = rows
            self._chunk_fmt = (self.row_format + self.opts.lineterminator.replace("%", "%%")) * rows
        return self._chunk_fmt

    def render_through_csv(self, batch: Sequence[Sequence[Any]], first_row: int, per_row: bool) -> list[str]:
        """The csv path for ``batch`` (rows of one chunk, not necessarily consecutive)."""
        for _ in range(4):
            chunk = csv_chunk(batch, self.names, marker_text=self.marker_text, formula_guard=self.opts.formula_guard,
                              first_row=first_row, check_nan=self.check_nan)
            texts = self._through_csv(chunk, first_row, per_row)
            if texts is not None:
                return texts
        raise RuntimeError(f"rows {first_row}..{first_row + len(batch) - 1}: the NaN check did not settle")

    def _through_csv(self, chunk: CsvChunk, first_row: int, per_row: bool) -> list[str]:
        """The csv path: cells with stand-ins, :mod:`csv`, stray line breaks, stand-in
        replacement (redone with other stand-in characters when the data holds them)."""
        opts = self.opts
        for _ in range(3):  # a stand-in redo at most, then it must fit
            stand_ins = self.stand_ins
            if stand_ins is None:
                cells = chunk.cells(null_cell=opts.null_marker or None)
            else:
                cells = chunk.cells(null_cell=stand_ins.null_cell, empty_cell=stand_ins.empty_cell,
                                    marker_cell=stand_ins.marker_cell, count_nulls=stand_ins.null_is_stand_in)
            text, extra_nulls = self._write(chunk.rows(cells), first_row)
            if chunk.unchecked_floats and "n" in text and "nan" in text:
                self.check_nan = True
                return self.render_through_csv(chunk.batch, first_row, per_row)
            texts = list(self.parts) if per_row else [text]
            counts = (cells.empties, cells.nulls + extra_nulls, cells.markers)
            if stand_ins is None or not any(counts):
                return texts
            done = stand_ins.apply(texts, counts)
            if done is not None:
                return done
            self.stand_ins = StandIns.other(opts, len(self.names), set(text))
        raise RuntimeError(f"rows from {first_row}: stand-in replacement did not settle")

    def _write(self, cells: Sequence[Sequence[Any]], first_row: int) -> tuple[str, int]:
        """Write rows of cells into ``parts`` with :mod:`csv`; returns the joined text and the
        number of null stand-ins put into rows rewritten for stray line breaks."""
        parts = self.parts
        parts.clear()
        extra_nulls = 0
        try:
            self.writer.writerows(cells)
            text = "".join(parts)
            if self.stray_breaks and holds_any(text, self.stray_breaks):
                # Rare: a CR or LF that is not part of the line terminator. Rewrite the
                # chunk, quoting every field (but nulls) of the rows holding one.
                parts.clear()
                for index, row in enumerate(cells):
                    bad = _stray_break_cell(row, self.stray_breaks)
                    if bad is None:
                        self.writer.writerow(row)
                    elif self.opts.quoting == csv.QUOTE_NONE:
                        raise ValueError(
                            f"row {first_row + index}, column {self.names[bad]!r}: a line break cannot be "
                            "written with quoting='none'; use quoting='minimal'"
                        )
                    else:
                        if self.stand_ins is not None:
                            row, placed = self.stand_ins.for_quote_all(row)
                            extra_nulls += placed
                        self.quote_all.writerow(row)
                text = "".join(parts)
        except csv.Error as exc:
            raise describe_csv_error(cells, self.names, first_row, self.dialect, exc) from None
        return text, extra_nulls


def describe_csv_error(batch: Sequence[Sequence[Any]], names: list[str], first_row: int,
                        dialect: dict[str, Any], error: Exception) -> ValueError:
    """Turn a csv.Error for a chunk into a ValueError naming the row and column."""
    probe = csv.writer(ListSink([]), **dialect)
    for index, row in enumerate(batch):
        try:
            probe.writerow(row)
        except csv.Error as row_error:
            for column, cell in zip(names, row, strict=False):
                try:
                    probe.writerow(["x", cell])
                except csv.Error as exc:
                    return ValueError(
                        f"row {first_row + index}, column {column!r}: value {str(cell)[:40]!r} cannot be "
                        f"written with quoting='none' ({exc}); use quoting='minimal'"
                    )
            if len(row) == 1:
                return ValueError(
                    f"row {first_row + index}, column {names[0]!r}: a record of one empty field cannot be written "
                    f"with quoting='none' and empty_string='empty' ({row_error}); use empty_string='quoted'"
                )
            return ValueError(f"row {first_row + index}: {error}")
    return ValueError(f"rows {first_row}..{first_row + len(batch) - 1}: {error}")


def render_huge_ints(chunks: ChunkRenderer, batch: Sequence[Any], first_row: int, rolling: bool) -> Any:
    """Render a batch holding an int of more than ``sys.get_int_max_str_digits()`` digits.

    Python refuses such conversions by default (a guard against quadratic-time parsing of
    untrusted text: CVE-2020-10735, Python 3.11's ``sys.set_int_max_str_digits``); an integer from a
    database is data, so the
    batch is rendered again with the limit lifted, and the limit restored at once.
    """
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return chunks.render(batch, first_row, per_row=rolling)
    finally:
        sys.set_int_max_str_digits(limit)


