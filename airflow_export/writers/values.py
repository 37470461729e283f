"""The text form of cell values, shared by the CSV and the PDF writer.

Every value a row can hold is written as exactly one text, the same in CSV and PDF:

=====================================  ==========================================  ===============================
Python value                           text                                        example
=====================================  ==========================================  ===============================
``None``                               the null marker (``""`` by default)         ``None`` -> ``""``
``str``                                as is                                       ``"a,b"`` -> ``a,b``
``bool``                               ``true`` / ``false``                        ``True`` -> ``true``
``int`` (any ``numbers.Integral``)     decimal digits, ``str(int(v))``             ``-5`` -> ``-5``
``float``                              ``repr``: shortest text that reads back     ``0.1`` -> ``0.1``;
                                       to the same float; NaN -> ``NaN``,          ``1e-07`` -> ``1e-07``;
                                       infinities -> ``inf`` / ``-inf``            ``float("nan")`` -> ``NaN``
``decimal.Decimal``                    fixed-point, never exponent notation,       ``Decimal("1E-7")`` ->
                                       trailing zeros kept; NaN -> ``NaN``,        ``0.0000001``;
                                       infinities -> ``inf`` / ``-inf``            ``Decimal("1E+3")`` -> ``1000``
``datetime``, ``date``, ``time``       ISO 8601, ``v.isoformat()``; an aware       ``2024-01-02T03:04:05+02:00``
                                       value keeps its UTC offset, a naive one
                                       has none
``timedelta``                          ISO 8601 duration ``[-]PnDTnHnMnS``,        ``timedelta(days=1, hours=2,
                                       zero parts left out, seconds with up to     seconds=3.5)`` -> ``P1DT2H3.5S``;
                                       6 decimals; ``-`` prefix when negative      ``timedelta(0)`` -> ``PT0S``;
                                       (the ISO 8601-2 extension)                  ``-timedelta(hours=1)`` -> ``-PT1H``
``bytes``, ``bytearray``,              lowercase hexadecimal, two digits per       ``b"\\x00\\xff"`` -> ``00ff``
``memoryview``                         byte, no ``0x``/``b'...'``
``uuid.UUID``                          ``str(v)``, 36 characters                   ``12345678-1234-5678-1234-567812345678``
``dict``, ``list``                     compact JSON (``,`` and ``:`` without       ``{"a":[1,2]}``
                                       spaces, UTF-8, keys in their order);
                                       nested values of the types above use
                                       their text form as a JSON string
anything else                          :class:`TypeError` naming row and column    ``row 17, column 'price':
                                                                                   cannot render value of type
                                                                                   object``
=====================================  ==========================================  ===============================

Only ``None`` becomes the null marker: ``0``, ``False``, ``""`` and NaN never do. Subclasses
take the form of their base (``IntEnum`` members as ints, ``numpy.float64`` as a float,
``pandas.Timestamp`` as a datetime).

**Formula guard** (CSV only, see :func:`guard_formula`): a *string* cell that begins with
``=``, ``+``, ``-``, ``@``, tab or carriage return gets a ``'`` prefix so spreadsheet
programs do not run it as a formula (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection). Numbers are never touched.

For the CSV hot path :func:`csv_batch` (one batch) and :func:`csv_column` (one column)
decide with C-level scans (the types of all cells in one ``map(type, ...)`` pass, pointer
comparisons of a column's types with ``[int] * n``, first characters of strings against
the trigger set, a C ``sum`` for NaN) whether a column needs any per-cell work at all:
``int`` columns, ``float`` columns without NaN, ``str`` columns without formula triggers
and ``None`` (with the default empty null marker) are handed to :mod:`csv` untouched, since
its ``str()`` of an int/float *is* the form above. :func:`format_value` and
:func:`format_column` give plain text, e.g. for PDF cells.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any
from uuid import UUID

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: Prefix put before a string cell starting with one of :data:`FORMULA_TRIGGERS`.
FORMULA_GUARD_PREFIX = "'"

_NONE_TYPE = type(None)
_NONE_INT = frozenset({_NONE_TYPE, int})
_NONE_FLOAT = frozenset({_NONE_TYPE, float})
_NONE_STR = frozenset({_NONE_TYPE, str})
_TRIGGER_SET = frozenset(FORMULA_TRIGGERS)
_first_char = itemgetter(0)
_ONE_MICROSECOND = timedelta(microseconds=1)


class UnrenderableValueError(TypeError):
    """A value has no text form (see the module table).

    :param type_name: name of the value's type.
    :param row: 1-based data row number, if known.
    :param column: column name, if known.
    """

    def __init__(self, type_name: str, row: int | None = None, column: str | None = None) -> None:
        self.type_name = type_name
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where) + ": " if where else ""
        super().__init__(f"{prefix}cannot render value of type {type_name}")


class _NaNCell(float):
    """A float NaN whose ``str()`` is ``NaN``: csv.writer writes it as ``NaN`` and, under
    QUOTE_NONNUMERIC, leaves it unquoted like every other number."""

    __slots__ = ()

    def __str__(self) -> str:
        return "NaN"

    __repr__ = __str__


_NAN_CELL = _NaNCell("nan")


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


# ---------------------------------------------------------------- single values


def guard_formula(text: str) -> str:
    """``text`` with a ``'`` prefix if it begins with a formula trigger (``= + - @``, tab, CR).

    Source: OWASP "CSV Injection". ``"=1+1"`` -> ``"'=1+1"``; ``"a=b"`` -> ``"a=b"``; ``""`` -> ``""``.

    :param text: a string cell.
    :returns: the cell text to write.
    """
    return FORMULA_GUARD_PREFIX + text if text.startswith(FORMULA_TRIGGERS) else text


def format_float(value: float) -> str:
    """``repr`` of a float (shortest round-trip text); NaN -> ``NaN``; infinities -> ``inf``/``-inf``."""
    value = float(value)
    return "NaN" if value != value else float.__repr__(value)


def format_decimal(value: Decimal) -> str:
    """Fixed-point text of a Decimal, never exponent notation, trailing zeros kept.

    ``Decimal("1E-7")`` -> ``0.0000001``; ``Decimal("1E+3")`` -> ``1000``;
    ``Decimal("1.50")`` -> ``1.50``; NaN (quiet or signalling) -> ``NaN``; infinities ->
    ``inf``/``-inf`` (as for floats).
    """
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "-inf" if value.is_signed() else "inf"
    return format(value, "f")


def format_timedelta(value: timedelta) -> str:
    """ISO 8601 duration of a timedelta: ``[-]P[nD][T[nH][nM][n[.ffffff]S]]``.

    Days are whole days (24 h); zero parts are left out; seconds carry up to 6 decimals
    with trailing zeros stripped; a negative duration gets a leading ``-`` (ISO 8601-2).
    ``timedelta(days=1, hours=2, seconds=3.5)`` -> ``P1DT2H3.5S``; ``timedelta(0)`` ->
    ``PT0S``; ``timedelta(minutes=-90)`` -> ``-PT1H30M``.
    """
    micros = value // _ONE_MICROSECOND
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    seconds, micros = divmod(micros, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    text = sign + "P"
    if days:
        text += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if micros:
        time_part += f"{seconds}.{micros:06d}".rstrip("0") + "S"
    elif seconds:
        time_part += f"{seconds}S"
    if time_part:
        text += "T" + time_part
    elif not days:
        text += "T0S"
    return text


def _format_bytes(value: bytes | bytearray | memoryview) -> str:
    return value.hex()


def _json_default(value: Any) -> Any:
    convert = _text_converter(type(value))
    if convert is None:
        raise UnrenderableValueError(type(value).__name__)
    return convert(value)


def format_json(value: dict | list) -> str:
    """Compact JSON of a dict or list: no spaces after ``,``/``:``, non-ASCII kept as is.

    Nested values JSON has no type for (Decimal, datetime, bytes, UUID ...) are written as
    JSON strings holding their text form; nested floats NaN/inf are written as
    ``NaN``/``Infinity`` (Python's ``json`` extension).

    :raises UnrenderableValueError: a nested value has no text form.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _format_bool(value: bool) -> str:
    return "true" if value else "false"


def _format_integral(value: Any) -> str:
    return int.__repr__(int(value))


def _format_isoformat(value: date | time) -> str:
    return value.isoformat()


def _format_str(value: str) -> str:
    return str.__str__(value)


def _text_converter(value_type: type) -> Callable[[Any], str] | None:
    """The value -> text function for ``value_type`` (not ``NoneType``), or None if it has none."""
    try:
        return _TEXT_CONVERTERS[value_type]
    except KeyError:
        pass
    convert: Callable[[Any], str] | None
    if issubclass(value_type, str):
        convert = _format_str
    elif issubclass(value_type, bool):
        convert = _format_bool
    elif issubclass(value_type, numbers.Integral):
        convert = _format_integral
    elif issubclass(value_type, float):
        convert = format_float
    elif issubclass(value_type, Decimal):
        convert = format_decimal
    elif issubclass(value_type, (datetime, date, time)):
        convert = _format_isoformat
    elif issubclass(value_type, timedelta):
        convert = format_timedelta
    elif issubclass(value_type, (bytes, bytearray, memoryview)):
        convert = _format_bytes
    elif issubclass(value_type, UUID):
        convert = str
    elif issubclass(value_type, (dict, list)):
        convert = format_json
    else:
        convert = None
    _TEXT_CONVERTERS[value_type] = convert
    return convert


_TEXT_CONVERTERS: dict[type, Callable[[Any], str] | None] = {
    str: _format_str,
    bool: _format_bool,
    int: int.__repr__,
    float: format_float,
    Decimal: format_decimal,
    datetime: _format_isoformat,
    date: _format_isoformat,
    time: _format_isoformat,
    timedelta: format_timedelta,
    bytes: _format_bytes,
    bytearray: _format_bytes,
    memoryview: _format_bytes,
    UUID: str,
    dict: format_json,
    list: format_json,
}


def format_value(
    value: Any, *, null_marker: str = "", row: int | None = None, column: str | None = None
) -> str:
    """The text form of one value (see the module table).

    :param value: the cell value.
    :param null_marker: text for ``None`` (and only for ``None``).
    :param row: 1-based row number, used only in the error message.
    :param column: column name, used only in the error message.
    :returns: the text; no formula guard is applied (see :func:`guard_formula`).
    :raises UnrenderableValueError: (a :class:`TypeError`) the value's type has no text
        form, e.g. ``row 17, column 'price': cannot render value of type object``.
    """
    if value is None:
        return null_marker
    convert = _text_converter(type(value))
    if convert is None:
        raise UnrenderableValueError(type(value).__name__, row, column)
    try:
        return convert(value)
    except UnrenderableValueError as exc:  # nested in a dict/list
        raise UnrenderableValueError(exc.type_name, row, column) from None


# ---------------------------------------------------------------- whole columns


def _raise_unrenderable(values: Sequence[Any], bad: set[type], first_row: int, column: str | None) -> None:
    for index, value in enumerate(values):
        if type(value) in bad:
            raise UnrenderableValueError(type(value).__name__, first_row + index, column)
    raise AssertionError("unreachable")  # pragma: no cover


def _guarded(value: str) -> str:
    return FORMULA_GUARD_PREFIX + value if value.startswith(FORMULA_TRIGGERS) else value


def _identity(value: Any) -> Any:
    return value


def _csv_float(value: float) -> Any:
    return _NAN_CELL if value != value else value


def _csv_float_subclass(value: float) -> Any:
    value = float(value)
    return _NAN_CELL if value != value else value


def _csv_numeric_text(convert: Callable[[Any], str]) -> Callable[[Any], Any]:
    def cell(value: Any) -> Any:
        return _NumericText(convert(value))

    return cell


_CSV_DECIMAL = _csv_numeric_text(format_decimal)
_CSV_INTEGRAL = _csv_numeric_text(_format_integral)


def _csv_converter(value_type: type, formula_guard: bool) -> Callable[[Any], Any] | None:
    """value -> csv cell for a type seen in a column (not ``NoneType``); None if unrenderable."""
    if value_type is int:
        return _identity
    if value_type is float:
        return _csv_float
    if value_type is str:
        return _guarded if formula_guard else _identity
    text = _text_converter(value_type)
    if text is None:
        return None
    if issubclass(value_type, str):
        return (lambda v: _guarded(str.__str__(v))) if formula_guard else _format_str
    if issubclass(value_type, bool):
        return text
    if issubclass(value_type, float):
        return _csv_float_subclass
    if issubclass(value_type, numbers.Integral):
        return _CSV_INTEGRAL
    if issubclass(value_type, Decimal):
        return _CSV_DECIMAL
    return text


def _has_formula_start(strings: Iterable[Any]) -> bool:
    """True if a truthy string among ``strings`` (str/None only) starts with a formula trigger."""
    return not _TRIGGER_SET.isdisjoint(map(_first_char, filter(None, strings)))


def _has_nan(floats: Sequence[Any], has_none: bool) -> bool:
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

    Cells are ``str``, ``int``, ``float`` or ``None`` (``None`` only when ``null_marker``
    is ``""``: csv writes it as an empty field), or number objects whose ``str()`` is their
    text form, so that under ``QUOTE_NONNUMERIC`` numbers stay unquoted. When no cell
    needs a change the very same ``values`` object is returned (callers test ``is``).

    :param values: the column's values, top to bottom (e.g. one element of ``zip(*batch)``).
    :param null_marker: text for ``None``.
    :param formula_guard: prefix string cells starting with a formula trigger with ``'``.
    :param first_row: 1-based row number of ``values[0]``, for error messages.
    :param column: column name, for error messages.
    :param types: ``set(map(type, values))`` if the caller already has it (not modified).
    :raises UnrenderableValueError: (a :class:`TypeError`) naming the first row and the
        column holding a value without a text form.
    """
    types = set(map(type, values)) if types is None else set(types)
    has_none = _NONE_TYPE in types
    if has_none:
        types.discard(_NONE_TYPE)
    out: Sequence[Any] = values
    if len(types) == 1 and (only := next(iter(types))) in (int, float, str):
        if only is float:
            if _has_nan(values, has_none):
                out = [_NAN_CELL if v != v else v for v in values]
        elif only is str:
            if formula_guard and _has_formula_start(values):
                out = [
                    FORMULA_GUARD_PREFIX + v if v is not None and v.startswith(FORMULA_TRIGGERS) else v
                    for v in values
                ]
    elif types:
        converters = {t: _csv_converter(t, formula_guard) for t in types}
        bad = {t for t, c in converters.items() if c is None}
        if bad:
            _raise_unrenderable(values, bad, first_row, column)
        if any(c is not _identity for c in converters.values()):
            converters[_NONE_TYPE] = _identity
            try:
                out = [converters[type(v)](v) for v in values]
            except UnrenderableValueError as exc:  # a dict/list with an unrenderable item
                for index, value in enumerate(values):
                    if isinstance(value, (dict, list)):
                        try:
                            format_json(value)
                        except UnrenderableValueError:
                            raise UnrenderableValueError(exc.type_name, first_row + index, column) from None
                raise  # pragma: no cover
    if has_none and null_marker:
        out = [null_marker if v is None else v for v in out]
    return out


def csv_batch(
    batch: Sequence[Sequence[Any]],
    columns: Sequence[str],
    *,
    null_marker: str = "",
    formula_guard: bool = True,
    first_row: int = 1,
) -> Sequence[Sequence[Any]]:
    """A batch of rows as rows of cells for :func:`csv.writer` (see :func:`csv_column`).

    The hot path of the CSV writer. The batch is flattened once and the type of every
    cell taken in one C-level pass; each column is then classified by comparing its slice
    of types with ``[int] * n``, ``[str] * n``, ``[float] * n`` (pointer comparisons) and
    only string and float columns are scanned further (first characters for the formula
    guard, a C ``sum`` for NaN). When nothing needs changing, ``batch`` itself is returned.

    :param batch: rows, each with ``len(columns)`` fields.
    :param columns: column names, for error messages.
    :param null_marker: text for ``None``.
    :param formula_guard: apply the formula guard to string cells.
    :param first_row: 1-based row number of ``batch[0]``.
    :returns: ``batch`` unchanged, or a new list of row tuples.
    :raises UnrenderableValueError: naming the row and column of a value without a text form.
    """
    width = len(columns)
    rows = len(batch)
    if not width or not rows:
        return batch
    flat = list(chain.from_iterable(batch))
    flat_types = list(map(type, flat))
    ints, floats, strs = [int] * rows, [float] * rows, [str] * rows
    changed: dict[int, Sequence[Any]] = {}
    for i in range(width):
        column_types = flat_types[i::width]
        if column_types == ints:
            continue
        if column_types == strs:
            if formula_guard and _has_formula_start(flat[i::width]):
                changed[i] = csv_column(flat[i::width], formula_guard=True, types={str})
            continue
        if column_types == floats:
            if _has_nan(flat[i::width], False):
                changed[i] = csv_column(flat[i::width], types={float})
            continue
        types = set(column_types)
        if types == _NONE_FLOAT and not null_marker and not _has_nan(flat[i::width], True):
            continue
        if types == _NONE_STR and not null_marker and not (formula_guard and _has_formula_start(flat[i::width])):
            continue
        if types <= _NONE_INT and not null_marker:
            continue
        values = flat[i::width]
        out = csv_column(
            values, null_marker=null_marker, formula_guard=formula_guard, first_row=first_row,
            column=columns[i], types=types,
        )
        if out is not values:
            changed[i] = out
    if not changed:
        return batch
    return list(zip(*[changed[i] if i in changed else flat[i::width] for i in range(width)]))


def format_column(
    values: Sequence[Any],
    *,
    null_marker: str = "",
    formula_guard: bool = False,
    first_row: int = 1,
    column: str | None = None,
) -> list[str]:
    """One column of a batch as text (the forms of the table), e.g. for PDF table cells.

    :param values: the column's values, top to bottom.
    :param null_marker: text for ``None``.
    :param formula_guard: also apply :func:`guard_formula` to string values.
    :param first_row: 1-based row number of ``values[0]``, for error messages.
    :param column: column name, for error messages.
    :returns: a new list of ``str``, one per value.
    :raises UnrenderableValueError: (a :class:`TypeError`) naming the row and column.
    """
    types = set(map(type, values))
    converters: dict[type, Callable[[Any], str]] = {}
    bad = set()
    for value_type in types:
        if value_type is _NONE_TYPE:
            continue
        convert = _text_converter(value_type)
        if convert is None:
            bad.add(value_type)
        elif formula_guard and issubclass(value_type, str):
            converters[value_type] = lambda v: guard_formula(str.__str__(v))
        else:
            converters[value_type] = convert
    if bad:
        _raise_unrenderable(values, bad, first_row, column)
    converters[_NONE_TYPE] = lambda _: null_marker
    out = []
    for index, value in enumerate(values):
        try:
            out.append(converters[type(value)](value))
        except UnrenderableValueError as exc:
            raise UnrenderableValueError(exc.type_name, first_row + index, column) from None
    return out
