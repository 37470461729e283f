"""A batch made ready for the CSV text in one pass (:func:`csv_chunk`): cells by column, what
needs quotes, where the nulls and empty texts are. Part of the fast path (see
:mod:`airflow_export.writers.csv.cells`; reason: docs/adr/0001-csv-fast-path.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, NamedTuple

from airflow_export.writers.csv.cells import (
    FORMULA_STARTS,
    NAN_CELL,
    NONE_FLOAT,
    NONE_INT,
    NONE_STR,
    STR_ONLY,
    csv_column,
    first_char,
    has_formula_start,
    has_nan,
    holds_any,
)
from airflow_export.writers.values import NONE_TYPE, NULLABLE_TYPES, count_formulas, guard_texts


class CsvCells(NamedTuple):
    """The cells of a chunk after :meth:`CsvChunk.cells` put the stand-ins.

    :param columns: cells by column.
    :param changed: whether any column differs from the batch's values.
    :param nulls: nulls replaced by ``null_cell`` (counted only when asked).
    :param empties: empty texts replaced by ``empty_cell``.
    :param markers: texts equal to the marker replaced by ``marker_cell``.
    """

    columns: list[Sequence[Any]]
    changed: bool
    nulls: int
    empties: int
    markers: int


#: Column kinds in :attr:`CsvChunk.kinds`: only ints or floats (and nulls); only strings
#: (and nulls); anything else, converted (strings, numbers, number objects, nulls).
KIND_NUMBER, KIND_STR, KIND_MIXED = "number", "str", "mixed"


class CsvChunk:
    """A batch made ready for the CSV writer by :func:`csv_chunk`: the cells by column, with
    what the writer needs to know about them. Nulls are ``None`` and empty texts ``""``
    here; :meth:`cells` puts the writer's stand-ins.

    :ivar batch: the batch given.
    :ivar columns: cells by column: ``int``, ``float``, ``str``, ``None`` (a null) or number
        objects whose ``str()`` is their text (``NaN``, Decimals ...).
    :ivar changed: whether any column differs from the batch's values.
    :ivar kinds: per column :data:`KIND_NUMBER`, :data:`KIND_STR` or :data:`KIND_MIXED`.
    :ivar null_columns: indexes of the columns that may hold a null.
    :ivar empty_counts: column index -> number of empty texts (``""``; ``b""`` too), if any.
    :ivar marker_text: the marker text compared (or None).
    :ivar marker_counts: column index -> number of texts equal to ``marker_text``, if any.
    :ivar unchecked_floats: indexes of the columns of floats and ``None`` passed through
        without the NaN check (``check_nan=False``); csv and ``str()`` write a NaN there as ``nan``.
    :ivar special_columns: indexes of the columns with a text cell holding one of
        ``special_chars`` (empty when not asked).
    :ivar flat: the batch's values row after row in one list (``len(batch) * width``), or
        None; a caller may overwrite it (the join path puts changed columns back into it
        with ``flat[i::width] = column`` and formats the whole chunk in one ``%``).
    :ivar raw_columns: per column the list of the batch's own values (``flat[i::width]``),
        or None: ``columns[i] is raw_columns[i]`` when column ``i`` is unchanged.
    :ivar guarded_cells: text cells the formula guard prefixed with ``'``.
    """

    __slots__ = ("batch", "columns", "changed", "kinds", "null_columns", "empty_counts", "marker_text",
                 "marker_counts", "unchecked_floats", "special_columns", "flat", "raw_columns", "guarded_cells")

    def __init__(self, batch: Sequence[Sequence[Any]], columns: list[Sequence[Any]], changed: bool,
                 kinds: list[str], null_columns: tuple[int, ...], empty_counts: dict[int, int],
                 marker_text: str | None, marker_counts: dict[int, int], unchecked_floats: tuple[int, ...],
                 special_columns: tuple[int, ...], flat: list[Any] | None = None,
                 raw_columns: list[list[Any]] | None = None, guarded_cells: int = 0) -> None:
        self.batch = batch
        self.guarded_cells = guarded_cells
        self.flat = flat
        self.raw_columns = raw_columns
        self.columns = columns
        self.changed = changed
        self.kinds = kinds
        self.null_columns = null_columns
        self.empty_counts = empty_counts
        self.marker_text = marker_text
        self.marker_counts = marker_counts
        self.unchecked_floats = unchecked_floats
        self.special_columns = special_columns

    @property
    def plain(self) -> bool:
        """True if no text cell holds one of ``special_chars`` (always True when not asked)."""
        return not self.special_columns

    def cells(self, null_cell: Any = None, empty_cell: Any = None, marker_cell: Any = None,
              count_nulls: bool = False) -> CsvCells:
        """The columns with stand-ins put: ``null_cell`` for each null, ``empty_cell`` for
        each empty text, ``marker_cell`` for each text equal to the marker; ``None`` leaves
        them as they are.

        :param count_nulls: count the nulls replaced (one more C pass per column with nulls).
        """
        columns = list(self.columns)
        changed = self.changed
        nulls = empties = markers = 0
        # Texts first: a null cell may be the marker text itself.
        if empty_cell is not None:
            for i, count in self.empty_counts.items():
                column = columns[i]
                # A str column without nulls: "v or stand-in" replaces exactly the "".
                if self.kinds[i] is KIND_STR and i not in self.null_columns:
                    columns[i] = [v or empty_cell for v in column]
                else:
                    columns[i] = [empty_cell if v == "" else v for v in column]
                empties += count
                changed = True
        if marker_cell is not None:
            marker_text = self.marker_text
            for i, count in self.marker_counts.items():
                columns[i] = [marker_cell if v == marker_text else v for v in columns[i]]
                markers += count
                changed = True
        if null_cell is not None and self.null_columns:
            for i in self.null_columns:
                column = columns[i]
                if count_nulls:
                    count = column.count(None)
                    if not count:
                        continue
                    nulls += count
                columns[i] = [null_cell if v is None else v for v in column]
                changed = True
        return CsvCells(columns, changed, nulls, empties, markers)

    def rows(self, cells: CsvCells) -> Sequence[Sequence[Any]]:
        """Rows of ``cells`` for :func:`csv.writer`: the batch itself when nothing changed."""
        return list(zip(*cells.columns, strict=False)) if cells.changed else self.batch


def csv_chunk(
    batch: Sequence[Sequence[Any]],
    columns: Sequence[str],
    *,
    marker_text: str | None = None,
    formula_guard: bool = True,
    first_row: int = 1,
    check_nan: bool = True,
    special_chars: str = "",
) -> CsvChunk:
    """A batch of rows as cells for the CSV writer, by column (see :class:`CsvChunk`).

    The hot path of the CSV writer. The batch is flattened once and the type of every
    cell taken in one C-level pass; each column is then classified by comparing its slice
    of types with ``[int] * n``, ``[str] * n``, ``[float] * n`` (pointer comparisons) and
    only string and float columns are scanned further (first characters for the formula
    guard, which also finds an empty string; a C ``sum`` for NaN; ``str.join`` and
    ``in`` for ``special_chars``). Other columns are converted with :func:`csv_column`.

    :param batch: rows, each with ``len(columns)`` fields.
    :param columns: column names, for error messages.
    :param marker_text: a non-empty text (the null marker) whose equal text cells are
        counted in ``marker_counts``; ``None``: none. Numbers are never compared.
    :param formula_guard: apply the formula guard to string cells.
    :param first_row: 1-based row number of ``batch[0]``.
    :param check_nan: check columns of plain floats and ``None`` for NaN (written ``NaN``;
        the ``sum`` must skip the ``None``, ~15 ns a cell). With False they are passed
        through and listed in ``unchecked_floats``; the caller must then check the text
        written for ``nan`` and redo the batch with ``check_nan=True``. Columns of plain
        floats only are always checked (a C ``sum``, ~3 ns a cell).
    :param special_chars: characters whose presence in a text cell the caller must know
        (:attr:`CsvChunk.special_columns`); ``""``: not checked.
    :returns: :class:`CsvChunk`.
    :raises UnrenderableValueError: naming the row and column of a value without a text form.
    """
    width = len(columns)
    rows = len(batch)
    if not width or not rows:
        return CsvChunk(batch, [[] for _ in range(width)], False, [KIND_NUMBER] * width, (), {}, marker_text, {},
                        (), ())
    flat = list(chain.from_iterable(batch))
    flat_types = list(map(type, flat))
    ints, floats, strs = [int] * rows, [float] * rows, [str] * rows
    cells: list[Sequence[Any]] = []
    raw: list[list[Any]] = []
    kinds: list[str] = []
    changed = False
    null_columns: list[int] = []
    empty_counts: dict[int, int] = {}
    marker_counts: dict[int, int] = {}
    unchecked: list[int] = []
    special: list[int] = []
    guarded = 0
    for i in range(width):
        column_types = flat_types[i::width]
        values = flat[i::width]
        raw.append(values)
        out: Sequence[Any] = values
        kind = KIND_NUMBER
        if column_types == ints:
            pass
        elif column_types == floats:  # a C sum, ~3 ns a cell: always checked
            if has_nan(values, False):
                out = [NAN_CELL if v != v else v for v in values]
        else:
            out, kind, has_none, empty_count, deferred, column_guarded = _other_column(
                values, column_types, column_types == strs, check_nan, formula_guard, first_row, columns[i]
            )
            guarded += column_guarded
            if deferred:
                unchecked.append(i)
            if has_none:
                null_columns.append(i)
            if kind is not KIND_NUMBER:
                empties, markers, needs_quotes = _text_stats(out, kind, has_none, empty_count, marker_text,
                                                             special_chars)
                if empties:
                    empty_counts[i] = empties
                if markers:
                    marker_counts[i] = markers
                if needs_quotes:
                    special.append(i)
        if out is not values:
            changed = True
        cells.append(out)
        kinds.append(kind)
    return CsvChunk(batch, cells, changed, kinds, tuple(null_columns), empty_counts, marker_text, marker_counts,
                    tuple(unchecked), tuple(special), flat, raw, guarded)


def _other_column(values: list[Any], column_types: list[type], only_str: bool, check_nan: bool, formula_guard: bool,
                  first_row: int, column: str) -> tuple[Sequence[Any], str, bool, int | None, bool, int]:
    """A column that is not all ints or all floats: ``(cells, kind, may hold a null, empty
    strings if known, NaN check deferred, cells the formula guard changed)``."""
    if only_str:
        types: Any = STR_ONLY
        has_none = False
    else:
        types = set(column_types)
        has_none = NONE_TYPE in types
    if types <= NONE_INT:
        return values, KIND_NUMBER, has_none, None, False, 0
    if types <= NONE_FLOAT:
        if not check_nan:
            return values, KIND_NUMBER, has_none, None, True, 0
        out: Sequence[Any] = [NAN_CELL if v != v else v for v in values] if has_nan(values, has_none) else values
        return out, KIND_NUMBER, has_none, None, False, 0
    if types <= NONE_STR:
        out, empty_count, guarded = _str_column(values, has_none, formula_guard)
        return out, KIND_STR, has_none, empty_count, False, guarded
    out = csv_column(values, formula_guard=formula_guard, first_row=first_row, column=column, types=types)
    guarded = count_formulas(values) if formula_guard and any(issubclass(t, str) for t in types) else 0
    return out, KIND_MIXED, has_none or not NULLABLE_TYPES.isdisjoint(types), None, False, guarded


def _str_column(values: list[Any], has_none: bool, formula_guard: bool) -> tuple[Sequence[Any], int | None, int]:
    """A column of strings (and ``None``) with the formula guard applied, its number of
    empty strings when the scan proved it 0 (else None: to be counted), and the number of
    cells the guard changed."""
    empty_count: int | None = None
    guard = False
    if formula_guard and not has_none:
        try:  # one pass for both the formula guard and "is there an empty string"
            guard = not FORMULA_STARTS.isdisjoint(map(first_char, values))
            if not guard:
                empty_count = 0  # every string had a first character
        except IndexError:  # an empty string (the guard never changes "")
            guard = has_formula_start(values)
    elif formula_guard:
        guard = has_formula_start(values)
    elif not has_none and all(values):
        empty_count = 0
    if not guard:
        return values, empty_count, 0
    out, guarded = guard_texts(values)
    return out, empty_count, guarded


def _text_stats(out: Sequence[Any], kind: str, has_none: bool, empty_count: int | None, marker_text: str | None,
                special_chars: str) -> tuple[int, int, bool]:
    """A text column's empty strings, texts equal to ``marker_text``, and whether a text
    holds one of ``special_chars`` (not checked when empty)."""
    empties = out.count("") if empty_count is None else empty_count
    markers = out.count(marker_text) if marker_text is not None else 0
    needs_quotes = bool(special_chars) and holds_any(_text_of(out, kind, has_none), special_chars)
    return empties, markers, needs_quotes


def _text_of(cells: Sequence[Any], kind: str, has_none: bool) -> str:
    """The text cells of a column joined (numbers and nulls left out)."""
    if kind is KIND_STR:
        return "".join(filter(None, cells)) if has_none else "".join(cells)
    return "".join([c for c in cells if type(c) is str])

