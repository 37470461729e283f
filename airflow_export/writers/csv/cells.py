"""The CSV fast path: a batch of rows -> cells for the CSV text, by column, with C-level scans.

:func:`csv_chunk` (one batch) and :func:`csv_column` (one column) decide with C-level scans
whether a column needs any per-cell work (the types of all cells in one ``map(type, ...)``
pass, pointer comparisons of a column's types with ``[int] * n``, first characters of strings
against the formula triggers, which also finds an empty string, a C ``sum`` for NaN,
``str.join`` and ``in`` for the characters that need quotes): ``int`` columns, ``float``
columns without NaN, ``str`` columns without formula triggers and ``None`` are passed on
untouched, since ``str()`` of an int/float *is* their text form
(:mod:`airflow_export.writers.values`). Why a fast path: docs/adr/0001-csv-fast-path.md.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

from airflow_export.writers.values import (
    FORMULA_TRIGGERS,
    NONE_TYPE,
    NULLABLE_TYPES,
    UnrenderableValueError,
    format_datetime64,
    format_decimal,
    format_integral,
    format_json,
    format_numpy_float,
    format_str,
    format_timedelta64,
    guard_formula,
    guard_texts,
    raise_unrenderable,
    text_converter,
    to_null,
)

NONE_INT = frozenset({NONE_TYPE, int})
NONE_FLOAT = frozenset({NONE_TYPE, float})
NONE_STR = frozenset({NONE_TYPE, str})
STR_ONLY = frozenset({str})
FORMULA_STARTS = frozenset(FORMULA_TRIGGERS)
first_char = itemgetter(0)


class _NaNCell(float):
    """A float NaN whose ``str()`` is ``NaN``: csv.writer writes it as ``NaN`` and, under
    QUOTE_NONNUMERIC, leaves it unquoted like every other number."""

    __slots__ = ()

    def __str__(self) -> str:
        return "NaN"

    __repr__ = __str__


NAN_CELL = _NaNCell("nan")


class _NumericText:
    """Text of a number for :mod:`csv`: written via ``str()`` and, being a number to
    ``PyNumber_Check`` (it has ``__float__``), left unquoted under QUOTE_NONNUMERIC."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __float__(self) -> float:
        return float(self.text)

    def __repr__(self) -> str:
        return f"_NumericText({self.text!r})"



def _identity(value: Any) -> Any:
    return value


def _csv_float(value: float) -> Any:
    return NAN_CELL if value != value else value


def _csv_float_subclass(value: float) -> Any:
    value = float(value)
    return NAN_CELL if value != value else value


def _csv_numeric_text(convert: Callable[[Any], str]) -> Callable[[Any], Any]:
    def cell(value: Any) -> Any:
        return _NumericText(convert(value))

    return cell


_CSV_DECIMAL = _csv_numeric_text(format_decimal)
_CSV_INTEGRAL = _csv_numeric_text(format_integral)
_CSV_NUMPY_FLOAT = _csv_numeric_text(format_numpy_float)


def _csv_converter(value_type: type, formula_guard: bool) -> Callable[[Any], Any] | None:
    """value -> csv cell for a type seen in a column (not ``NoneType``); None if unrenderable."""
    if value_type is int:
        return _identity
    if value_type is float:
        return _csv_float
    if value_type is str:
        return guard_formula if formula_guard else _identity
    text = text_converter(value_type)
    if text is None:
        return None
    if text is format_numpy_float:
        return _CSV_NUMPY_FLOAT
    if text in (to_null, format_datetime64, format_timedelta64):
        return text
    if issubclass(value_type, str):
        return (lambda v: guard_formula(str.__str__(v))) if formula_guard else format_str
    if issubclass(value_type, bool):
        return text
    if issubclass(value_type, float):
        return _csv_float_subclass
    if issubclass(value_type, numbers.Integral):
        return _CSV_INTEGRAL
    if issubclass(value_type, Decimal):
        return _CSV_DECIMAL
    return text


def has_formula_start(strings: Iterable[Any]) -> bool:
    """True if a truthy string among ``strings`` (str/None only) starts with a formula trigger."""
    return not FORMULA_STARTS.isdisjoint(map(first_char, filter(None, strings)))


def has_nan(floats: Sequence[Any], has_none: bool) -> bool:
    """True if a float among ``floats`` (float/None only) is NaN (or +inf and -inf both occur).

    ``sum`` runs in C for floats; NaN, or inf + -inf, makes the sum NaN. A false alarm
    (the infinities) only costs the exact per-cell pass.
    """
    total = sum(filter(None, floats)) if has_none else sum(floats)
    return total != total


def csv_column(
    values: Sequence[Any],
    *,
    null_marker: str = "",
    formula_guard: bool = True,
    first_row: int = 1,
    column: str | None = None,
    types: set[type] | None = None,
) -> Sequence[Any]:
    """One column of a batch as cells for :func:`csv.writer` (the text forms of the table).

    Cells are ``str``, ``int``, ``float`` or ``None`` (a null, only when ``null_marker``
    is ``""``: csv writes it as an empty field), or number objects whose ``str()`` is their
    text form, so that under ``QUOTE_NONNUMERIC`` numbers stay unquoted. When no cell
    needs a change the very same ``values`` object is returned (callers test ``is``).

    :param values: the column's values, top to bottom (e.g. one element of ``zip(*batch)``).
    :param null_marker: text for a null (``None``, ``pandas.NA``, ``pandas.NaT``, NaT).
    :param formula_guard: prefix string cells a spreadsheet may read as a formula with ``'``
        (:func:`~airflow_export.writers.values.is_formula`).
    :param first_row: 1-based row number of ``values[0]``, for error messages.
    :param column: column name, for error messages.
    :param types: ``set(map(type, values))`` if the caller already has it (not modified).
    :raises UnrenderableValueError: (a :class:`TypeError`) naming the first row and the
        column holding a value without a text form.
    """
    types = set(map(type, values)) if types is None else set(types)
    has_none = NONE_TYPE in types
    if has_none:
        types.discard(NONE_TYPE)
    out: Sequence[Any] = values
    if len(types) == 1 and (only := next(iter(types))) in (int, float, str):
        if only is float:
            if has_nan(values, has_none):
                out = [NAN_CELL if v != v else v for v in values]
        elif only is str and formula_guard and has_formula_start(values):
            out = guard_texts(values)[0]
    elif types:
        converters: dict[type, Any] = {t: _csv_converter(t, formula_guard) for t in types}
        bad = {t for t, c in converters.items() if c is None}
        if bad:
            raise_unrenderable(values, bad, first_row, column)
        if any(c is not _identity for c in converters.values()):
            converters[NONE_TYPE] = _identity
            try:
                out = [converters[type(v)](v) for v in values]
            except UnrenderableValueError:  # a dict/list that cannot be JSON (see format_json)
                for index, value in enumerate(values):
                    if isinstance(value, (dict, list)):
                        try:
                            format_json(value)
                        except UnrenderableValueError as exc:
                            raise exc.located(first_row + index, column) from None
                raise  # pragma: no cover
            has_none = has_none or not NULLABLE_TYPES.isdisjoint(types)
    if has_none and null_marker:
        out = [null_marker if v is None else v for v in out]
    return out


def holds_any(text: str, chars: str) -> bool:
    """True if ``text`` holds one of ``chars`` (one C scan per character)."""
    return any(char in text for char in chars)
