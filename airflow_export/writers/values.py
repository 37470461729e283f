"""The text form of cell values, shared by the CSV and the PDF writer.

Every value a row can hold is written as exactly one text, the same in CSV and PDF:

=====================================  ==========================================  ===============================
Python value                           text                                        example
=====================================  ==========================================  ===============================
``None`` and the other nulls:          the null marker (``""`` by default); in     ``None`` -> (empty, unquoted)
``pandas.NA``, ``pandas.NaT``,         CSV never quoted, see below
``numpy.datetime64("NaT")``,
``numpy.timedelta64("NaT")``
``str``                                as is; in CSV an empty string is the        ``"a,b"`` -> ``a,b``;
                                       quoted empty field ``""``, see below        ``""`` -> ``""`` (CSV)
``bool``, ``numpy.bool_``              ``true`` / ``false``                        ``True`` -> ``true``
``int`` (any ``numbers.Integral``,     decimal digits, ``str(int(v))``             ``-5`` -> ``-5``
``numpy.int64`` ...)
``float`` (and ``numpy.float64``)      ``repr``: shortest text that reads back     ``0.1`` -> ``0.1``;
                                       to the same float; NaN -> ``NaN``,          ``1e-07`` -> ``1e-07``;
                                       infinities -> ``inf`` / ``-inf``            ``float("nan")`` -> ``NaN``
``numpy.float32``, ``float16``,        the shortest digits that read back to the   ``numpy.float32(0.1)`` ->
``longdouble``                         same value *of that type* (numpy's          ``0.1`` (not
                                       ``format_float_scientific(unique=True)``),  ``0.10000000149011612``);
                                       laid out like ``repr`` of a float;          ``numpy.float32(2**24)`` ->
                                       NaN -> ``NaN``, ``inf`` / ``-inf``          ``16777216.0``
``decimal.Decimal``                    fixed-point, trailing zeros kept            ``Decimal("1E-7")`` ->
                                       (exponent notation only past 1,000          ``0.0000001``;
                                       padding zeros); NaN -> ``NaN``,             ``Decimal("1E+3")`` -> ``1000``
                                       infinities -> ``inf`` / ``-inf``
``datetime``, ``date``, ``time``       ISO 8601, ``v.isoformat()``; an aware       ``2024-01-02T03:04:05+02:00``
(and ``pandas.Timestamp``)             value keeps its UTC offset, a naive one
                                       has none
``numpy.datetime64``                   ISO 8601 without offset (numpy values are   ``2024-01-02T03:04:05``;
                                       naive): units ``Y``/``M``/``D`` as          ``...T03:04:05.500000`` (ns
                                       ``2024``/``2024-01``/``2024-01-02``,        value, whole microseconds);
                                       ``W`` as a day; time units with seconds     ``datetime64("2024-01", "M")``
                                       and a fraction only if not whole: 6         -> ``2024-01``
                                       digits if microsecond-exact, else 9, else
                                       the unit's own digits
``timedelta``                          ISO 8601 duration ``[-]PnDTnHnMnS``,        ``timedelta(days=1, hours=2,
                                       zero parts left out, seconds with up to     seconds=3.5)`` -> ``P1DT2H3.5S``;
                                       6 decimals; ``-`` prefix when negative      ``timedelta(0)`` -> ``PT0S``;
                                       (the ISO 8601-2 extension)                  ``-timedelta(hours=1)`` -> ``-PT1H``
``numpy.timedelta64``                  the same, exact to the value's unit;        ``timedelta64(1500, "ns")`` ->
                                       nominal units ``Y``/``M`` as ``PnY``/``PnM`` ``PT0.0000015S``
``bytes``, ``bytearray``,              lowercase hexadecimal, two digits per       ``b"\\x00\\xff"`` -> ``00ff``
``memoryview``                         byte, no ``0x``/``b'...'``
``uuid.UUID``                          ``str(v)``, 36 characters                   ``12345678-1234-5678-1234-567812345678``
``dict``, ``list``                     compact JSON (``,`` and ``:`` without       ``{"a":[1,2]}``
                                       spaces, UTF-8, keys in their order);
                                       nested values of the types above use
                                       their text form as a JSON string (nulls
                                       as JSON ``null``), non-finite floats too:
                                       ``"NaN"``, ``"inf"``, ``"-inf"`` (valid
                                       JSON, never ``NaN``/``Infinity``)
anything else; a dict/list that holds  :class:`UnrenderableValueError` (a           ``row 17, column 'price':
such a value, holds itself, is nested  :class:`TypeError`) naming row and column,   cannot render value of type
deeper than the recursion limit or has and the reason for a dict/list               object``
a key JSON cannot take (not str, int,
float, bool or None)
=====================================  ==========================================  ===============================

Only nulls become the null marker: ``0``, ``False``, ``""`` and NaN never do. Subclasses
take the form of their base (``IntEnum`` members as ints, ``numpy.float64`` as a float,
``pandas.Timestamp`` as a datetime). numpy and pandas are never imported here: their types
are recognised (once per type) only when a value of theirs shows up, through the modules
already loaded in :data:`sys.modules`.

**Nulls and empty strings in CSV** (the writer's default ``empty_string="quoted"``, the
convention of PostgreSQL's ``COPY ... (FORMAT csv)``,
https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-CSV-FORMAT): a null is
the null marker *unquoted* (by default an empty field: ``1,,3``), a non-null empty text is
a *quoted* empty field ``""`` (``1,"",3``), and a text equal to a non-empty null marker is
quoted (``"NULL"``), so the three stay apart on every line. :func:`csv_chunk` finds and
counts them, :meth:`CsvChunk.cells` puts what the CSV writer asks for in their place; see
:mod:`airflow_export.writers.csv_writer`.

**Formula guard** (CSV only, see :func:`guard_formula`): a *string* cell that begins with
``=``, ``+``, ``-``, ``@``, tab or carriage return gets a ``'`` prefix so spreadsheet
programs do not run it as a formula (OWASP "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection). Numbers are never touched.

For the CSV hot path :func:`csv_chunk` (one batch) and :func:`csv_column` (one column)
decide with C-level scans (the types of all cells in one ``map(type, ...)`` pass, pointer
comparisons of a column's types with ``[int] * n``, first characters of strings against
the trigger set, which also finds an empty string, a C ``sum`` for NaN, ``str.join`` and
``in`` for the characters that need quotes) whether a column needs any per-cell work at
all: ``int`` columns, ``float`` columns without NaN, ``str`` columns without formula
triggers and ``None`` are passed on untouched, since ``str()`` of an int/float *is* the
form above. :func:`format_value` and :func:`format_column` give plain text, e.g. for PDF
cells.
"""

from __future__ import annotations

import json
import numbers
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple
from uuid import UUID

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: Prefix put before a string cell starting with one of :data:`FORMULA_TRIGGERS`.
FORMULA_GUARD_PREFIX = "'"

_NONE_TYPE = type(None)
_NONE_INT = frozenset({_NONE_TYPE, int})
_NONE_FLOAT = frozenset({_NONE_TYPE, float})
_NONE_STR = frozenset({_NONE_TYPE, str})
_STR_ONLY = frozenset({str})
_TRIGGER_SET = frozenset(FORMULA_TRIGGERS)
_first_char = itemgetter(0)
_ONE_MICROSECOND = timedelta(microseconds=1)


class UnrenderableValueError(TypeError):
    """A value has no text form (see the module table).

    Message: ``row 17, column 'price': cannot render value of type object``, with the
    reason in parentheses when there is one (``... of type dict (it contains itself: a
    circular reference)``).

    :param type_name: name of the value's type (for a dict/list holding an unrenderable
        value: the nested value's type).
    :param row: 1-based data row number, if known.
    :param column: column name, if known.
    :param reason: why, when the type alone does not say (nested dict/list problems).
    """

    def __init__(self, type_name: str, row: int | None = None, column: str | None = None,
                 reason: str | None = None) -> None:
        self.type_name = type_name
        self.row = row
        self.column = column
        self.reason = reason
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where) + ": " if where else ""
        suffix = f" ({reason})" if reason else ""
        super().__init__(f"{prefix}cannot render value of type {type_name}{suffix}")

    def located(self, row: int | None, column: str | None) -> "UnrenderableValueError":
        """The same error naming ``row`` and ``column`` (type and reason kept)."""
        return UnrenderableValueError(self.type_name, row, column, self.reason)


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


#: Fixed-point text may pad a Decimal with at most this many zeros; beyond, exponent notation.
DECIMAL_MAX_PADDING = 1000


def format_decimal(value: Decimal) -> str:
    """Fixed-point text of a Decimal, trailing zeros kept, no exponent notation unless the
    exponent is absurd.

    ``Decimal("1E-7")`` -> ``0.0000001``; ``Decimal("1E+3")`` -> ``1000``;
    ``Decimal("1.50")`` -> ``1.50``; NaN (quiet or signalling) -> ``NaN``; infinities ->
    ``inf``/``-inf`` (as for floats). When fixed-point would add more than
    :data:`DECIMAL_MAX_PADDING` zeros to the digits (``Decimal("1E-1000000")`` would be a
    million-character field, ``1E+999999999`` a gigabyte), the value is written in Python's
    exponent notation, ``str(value)`` (``1E-1000000``), which reads back to the same Decimal.
    """
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "-inf" if value.is_signed() else "inf"
    exponent = value.as_tuple().exponent
    if exponent > DECIMAL_MAX_PADDING or -exponent - len(value.as_tuple().digits) > DECIMAL_MAX_PADDING:
        return str(value)
    return format(value, "f")


def format_timedelta(value: timedelta) -> str:
    """ISO 8601 duration of a timedelta: ``[-]P[nD][T[nH][nM][n[.ffffff]S]]``.

    Days are whole days (24 h); zero parts are left out; seconds carry up to 6 decimals
    with trailing zeros stripped; a negative duration gets a leading ``-`` (ISO 8601-2).
    ``timedelta(days=1, hours=2, seconds=3.5)`` -> ``P1DT2H3.5S``; ``timedelta(0)`` ->
    ``PT0S``; ``timedelta(minutes=-90)`` -> ``-PT1H30M``.
    """
    return _iso_duration(value // _ONE_MICROSECOND, 6)


def _iso_duration(ticks: int, digits: int) -> str:
    """ISO 8601 duration of ``ticks`` units of ``10**-digits`` seconds (see :func:`format_timedelta`)."""
    sign = "-" if ticks < 0 else ""
    seconds, fraction = divmod(abs(ticks), 10**digits)
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
    if fraction:
        time_part += f"{seconds}.{fraction:0{digits}d}".rstrip("0") + "S"
    elif seconds:
        time_part += f"{seconds}S"
    if time_part:
        text += "T" + time_part
    elif not days:
        text += "T0S"
    return text


# numpy timedelta units: (seconds per unit, or 1 for sub-second units; decimal digits of a second).
_TIMEDELTA64_UNITS = {
    "W": (604800, 0), "D": (86400, 0), "h": (3600, 0), "m": (60, 0), "s": (1, 0),
    "ms": (1, 3), "us": (1, 6), "ns": (1, 9), "ps": (1, 12), "fs": (1, 15), "as": (1, 18),
}


def format_timedelta64(value: Any) -> str | None:
    """ISO 8601 duration of a ``numpy.timedelta64`` (as :func:`format_timedelta`, exact to
    the value's unit), or None for NaT. Nominal units: ``Y`` -> ``P3Y``, ``M`` -> ``P3M``.

    ``numpy.timedelta64(90, "m")`` -> ``PT1H30M``; ``numpy.timedelta64(1500, "ns")`` ->
    ``PT0.0000015S``; ``numpy.timedelta64(-2, "D")`` -> ``-P2D``.
    """
    np = sys.modules["numpy"]
    if np.isnat(value):
        return None
    unit, count = np.datetime_data(value.dtype)
    ticks = int(value.astype(np.int64)) * count
    if unit in ("Y", "M"):
        return f"{'-' if ticks < 0 else ''}P{abs(ticks)}{unit}"
    scale, digits = _TIMEDELTA64_UNITS[unit]
    return _iso_duration(ticks * scale, digits)


def _to_null(value: Any) -> None:
    """Converter of the null types (``pandas.NA``, ``pandas.NaT``): no text, a null."""
    return None


def _python_float_layout(sign: str, digits: str, decpt: int) -> str:
    """Lay out significant ``digits`` with the decimal point after ``decpt`` of them the way
    ``repr(float)`` does (CPython's ``'r'`` format): positional when ``-4 < decpt <= 16``
    (with ``.0`` for whole numbers), else ``d.ddde±XX``."""
    if -4 < decpt <= 16:
        if decpt <= 0:
            body = "0." + "0" * -decpt + digits
        elif decpt >= len(digits):
            body = digits + "0" * (decpt - len(digits)) + ".0"
        else:
            body = digits[:decpt] + "." + digits[decpt:]
    else:
        exponent = decpt - 1
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        body += ("e-" if exponent < 0 else "e+") + f"{abs(exponent):02d}"
    return sign + body


def format_numpy_float(value: Any) -> str:
    """Text of a numpy float that is not a Python float (``float32``, ``float16``, ``longdouble``).

    The digits are the shortest that read back to the same value *of the value's own
    type* (numpy's ``format_float_scientific(value, unique=True)``, Dragon4), laid out like
    ``repr`` of a Python float: ``numpy.float32(0.1)`` -> ``0.1`` (where
    ``float(numpy.float32(0.1))`` would give ``0.10000000149011612``);
    ``numpy.float32(16777216)`` -> ``16777216.0``; ``numpy.float32(1e20)`` -> ``1e+20``;
    ``numpy.float16(65504)`` -> ``65500.0`` (65500 reads back as float16 65504). Does not
    depend on numpy's print options. NaN -> ``NaN``, infinities -> ``inf``/``-inf``.
    """
    if value != value:
        return "NaN"
    np = sys.modules["numpy"]
    if np.isinf(value):
        return "-inf" if value < 0 else "inf"
    mantissa, _, exponent = np.format_float_scientific(value, unique=True, trim="-").partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    return _python_float_layout(sign, mantissa.lstrip("-").replace(".", ""), int(exponent) + 1)


# numpy datetime units, coarsest first.
_DATETIME64_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")
_DATETIME64_RANK = {unit: rank for rank, unit in enumerate(_DATETIME64_UNITS)}


def format_datetime64(value: Any) -> str | None:
    """ISO 8601 text of a ``numpy.datetime64`` (naive, no offset), or None for NaT.

    Units ``Y``, ``M``, ``D`` print at their own precision (``2024``, ``2024-01``,
    ``2024-01-02``), ``W`` as its day. Time units print like ``datetime.isoformat()``:
    always with seconds (``2024-01-02T03:00:00`` for an ``h`` value), with a fraction only if
    the value is not a whole second: 6 digits if it is a whole microsecond, else 9 if a
    whole nanosecond, else the unit's own digits (``ps``, ``fs``, ``as``).
    """
    np = sys.modules["numpy"]
    if np.isnat(value):
        return None
    unit = np.datetime_data(value.dtype)[0]
    if unit in ("Y", "M", "D"):
        return str(np.datetime_as_string(value, unit=unit))
    if unit == "W":
        return str(np.datetime_as_string(value, unit="D"))
    rank = _DATETIME64_RANK[unit]
    for candidate in ("s", "us", "ns"):
        # Not coarser than the value's unit: exact by construction. Coarser: exact if equal.
        if _DATETIME64_RANK[candidate] >= rank or value.astype(f"datetime64[{candidate}]") == value:
            return str(np.datetime_as_string(value, unit=candidate))
    return str(np.datetime_as_string(value, unit=unit))


def _third_party_converter(value_type: type) -> Callable[[Any], str | None] | None:
    """Converter for a pandas/numpy type that needs one of its own, found through the
    modules already imported (a value of theirs exists, so they are in ``sys.modules``)."""
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        for name in ("NA", "NaT"):
            singleton = getattr(pandas, name, None)
            if singleton is not None and issubclass(value_type, type(singleton)):
                return _to_null
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if issubclass(value_type, numpy.bool_):
            return _format_bool
        if issubclass(value_type, numpy.datetime64):
            return format_datetime64
        if issubclass(value_type, numpy.timedelta64):  # before Integral: numpy registers it as one
            return format_timedelta64
        if issubclass(value_type, numpy.floating) and not issubclass(value_type, float):
            return format_numpy_float
    return None


def _format_bytes(value: bytes | bytearray | memoryview) -> str:
    return value.hex()


def _json_default(value: Any) -> Any:
    convert = _text_converter(type(value))
    if convert is None:
        raise UnrenderableValueError(type(value).__name__)
    return convert(value)  # None (a null) becomes JSON null


#: The encoder of :func:`format_json`: compact, UTF-8 kept, strict JSON (no NaN/Infinity).
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default)
_INF = float("inf")


def _json_finite(value: Any, active: set[int]) -> Any:
    """A copy of ``value`` with every non-finite float (values and dict keys) replaced by its
    text form (``"NaN"``, ``"inf"``, ``"-inf"``), for JSON. Only reached when the strict
    encoder met such a float (or a cycle, found here too).

    :raises ValueError: ``value`` contains itself.
    :raises RecursionError: nested deeper than the recursion limit.
    """
    if isinstance(value, float):
        return format_float(value) if value != value or value in (_INF, -_INF) else value
    if isinstance(value, (dict, list, tuple)):
        marker = id(value)
        if marker in active:
            raise ValueError("Circular reference detected")
        active.add(marker)
        if isinstance(value, dict):
            out: Any = {_json_finite(k, active) if isinstance(k, float) else k: _json_finite(v, active)
                        for k, v in value.items()}
        else:
            out = [_json_finite(v, active) for v in value]
        active.discard(marker)
        return out
    return value


def format_json(value: dict | list) -> str:
    """Compact JSON of a dict or list: no spaces after ``,``/``:``, non-ASCII kept as is,
    always valid JSON (RFC 8259).

    Nested values JSON has no type for (Decimal, datetime, bytes, UUID ...) are written as
    JSON strings holding their text form; so are nested non-finite floats, which JSON
    cannot hold: NaN -> ``"NaN"``, infinities -> ``"inf"``/``"-inf"`` (the top-level text
    of such a float, as a JSON string; never Python's ``NaN``/``Infinity`` extension).
    ``[1.5, float("nan")]`` -> ``[1.5,"NaN"]``.

    :raises UnrenderableValueError: (no row/column; callers add them) a nested value has no
        text form; the value contains itself; it is nested deeper than the recursion limit
        (:func:`sys.getrecursionlimit`, about 1000 levels); a dict key is not a str, int,
        float, bool or None.
    """
    try:
        try:
            return _JSON_ENCODER.encode(value)
        except ValueError:  # a NaN/inf (or a cycle, which the copy finds again)
            return _JSON_ENCODER.encode(_json_finite(value, set()))
    except UnrenderableValueError:
        raise
    except RecursionError:
        reason = f"nested deeper than the recursion limit of {sys.getrecursionlimit()} levels"
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # an int beyond Python's 4,300-digit str() limit
            limit = sys.get_int_max_str_digits()
            sys.set_int_max_str_digits(0)
            try:
                return format_json(value)
            finally:
                sys.set_int_max_str_digits(limit)
        if "ircular" not in str(exc):  # pragma: no cover - json raises no other ValueError here
            raise
        reason = "it contains itself: a circular reference"
    except TypeError as exc:  # "keys must be str, int, float, bool or None, not tuple"
        reason = f"JSON {exc}"
    raise UnrenderableValueError(type(value).__name__, reason=reason)


def _format_bool(value: bool) -> str:
    return "true" if value else "false"


def _format_integral(value: Any) -> str:
    return int.__repr__(int(value))


def _format_isoformat(value: date | time) -> str:
    return value.isoformat()


def _format_str(value: str) -> str:
    return str.__str__(value)


def _text_converter(value_type: type) -> Callable[[Any], str | None] | None:
    """The value -> text function for ``value_type`` (not ``NoneType``), or None if it has none.

    The function returns None for a null (types in :data:`_NULLABLE_TYPES`).
    """
    try:
        return _TEXT_CONVERTERS[value_type]
    except KeyError:
        pass
    convert: Callable[[Any], str | None] | None
    if (convert := _third_party_converter(value_type)) is not None:
        if convert in (_to_null, format_datetime64, format_timedelta64):
            _NULLABLE_TYPES.add(value_type)
    elif issubclass(value_type, str):
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


#: Types whose converter may return None (a null): pandas.NA, pandas.NaT, numpy.datetime64/timedelta64.
_NULLABLE_TYPES: set[type] = set()

_TEXT_CONVERTERS: dict[type, Callable[[Any], str | None] | None] = {
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
    :param null_marker: text for a null (``None``, ``pandas.NA``, ``pandas.NaT``, NaT
        ``numpy.datetime64``), and only for a null.
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
        text = convert(value)
    except UnrenderableValueError as exc:  # nested in a dict/list
        raise exc.located(row, column) from None
    except ValueError as exc:
        text = _huge_int_text(value, exc)
    return null_marker if text is None else text


def _huge_int_text(value: Any, error: ValueError) -> str:
    """All digits of an int longer than ``sys.get_int_max_str_digits()`` (default 4,300).

    Python refuses ``str()`` of such ints (CVE-2020-10735: a guard against quadratic-time
    conversions of untrusted text); an integer from a database is data, so it is written in
    full, through :class:`decimal.Decimal` (which has no such limit).

    :raises ValueError: ``error`` again when ``value`` is not an int (it was something else).
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise error
    return str(Decimal(value))


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
_CSV_NUMPY_FLOAT = _csv_numeric_text(format_numpy_float)


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
    if text is format_numpy_float:
        return _CSV_NUMPY_FLOAT
    if text in (_to_null, format_datetime64, format_timedelta64):
        return text
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

    Cells are ``str``, ``int``, ``float`` or ``None`` (a null, only when ``null_marker``
    is ``""``: csv writes it as an empty field), or number objects whose ``str()`` is their
    text form, so that under ``QUOTE_NONNUMERIC`` numbers stay unquoted. When no cell
    needs a change the very same ``values`` object is returned (callers test ``is``).

    :param values: the column's values, top to bottom (e.g. one element of ``zip(*batch)``).
    :param null_marker: text for a null (``None``, ``pandas.NA``, ``pandas.NaT``, NaT).
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
            except UnrenderableValueError:  # a dict/list that cannot be JSON (see format_json)
                for index, value in enumerate(values):
                    if isinstance(value, (dict, list)):
                        try:
                            format_json(value)
                        except UnrenderableValueError as exc:
                            raise exc.located(first_row + index, column) from None
                raise  # pragma: no cover
            has_none = has_none or not _NULLABLE_TYPES.isdisjoint(types)
    if has_none and null_marker:
        out = [null_marker if v is None else v for v in out]
    return out


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
    """

    __slots__ = ("batch", "columns", "changed", "kinds", "null_columns", "empty_counts", "marker_text",
                 "marker_counts", "unchecked_floats", "special_columns", "flat", "raw_columns")

    def __init__(self, batch: Sequence[Sequence[Any]], columns: list[Sequence[Any]], changed: bool,
                 kinds: list[str], null_columns: tuple[int, ...], empty_counts: dict[int, int],
                 marker_text: str | None, marker_counts: dict[int, int], unchecked_floats: tuple[int, ...],
                 special_columns: tuple[int, ...], flat: list[Any] | None = None,
                 raw_columns: list[list[Any]] | None = None) -> None:
        self.batch = batch
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
        return list(zip(*cells.columns)) if cells.changed else self.batch


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
    for i in range(width):
        column_types = flat_types[i::width]
        values = flat[i::width]
        raw.append(values)
        out: Sequence[Any] = values
        if column_types == ints:
            cells.append(values)
            kinds.append(KIND_NUMBER)
            continue
        if column_types == floats:  # a C sum, ~3 ns a cell: always checked
            if _has_nan(values, False):
                out = [_NAN_CELL if v != v else v for v in values]
                changed = True
            cells.append(out)
            kinds.append(KIND_NUMBER)
            continue
        if column_types == strs:
            types: Any = _STR_ONLY
            has_none = False
        else:
            types = set(column_types)
            has_none = _NONE_TYPE in types
        empty_count: int | None = None
        kind = KIND_MIXED
        if types <= _NONE_INT:
            kind = KIND_NUMBER
        elif types <= _NONE_FLOAT:
            kind = KIND_NUMBER
            if not check_nan:
                unchecked.append(i)
            elif _has_nan(values, has_none):
                out = [_NAN_CELL if v != v else v for v in values]
        elif types <= _NONE_STR:
            kind = KIND_STR
            guard = False
            if formula_guard and not has_none:
                try:  # one pass for both the formula guard and "is there an empty string"
                    guard = not _TRIGGER_SET.isdisjoint(map(_first_char, values))
                    if not guard:
                        empty_count = 0  # every string had a first character
                except IndexError:  # an empty string (the guard never changes "")
                    guard = _has_formula_start(values)
            elif formula_guard:
                guard = _has_formula_start(values)
            elif not has_none and all(values):
                empty_count = 0
            if guard:
                out = [
                    FORMULA_GUARD_PREFIX + v if v is not None and v.startswith(FORMULA_TRIGGERS) else v
                    for v in values
                ]
        else:
            out = csv_column(
                values, formula_guard=formula_guard, first_row=first_row, column=columns[i], types=types,
            )
            has_none = has_none or not _NULLABLE_TYPES.isdisjoint(types)
        if has_none:
            null_columns.append(i)
        if kind is not KIND_NUMBER:
            if empty_count is None:
                empty_count = out.count("")
            if empty_count:
                empty_counts[i] = empty_count
            if marker_text is not None and (count := out.count(marker_text)):
                marker_counts[i] = count
            if special_chars and _holds_any(_text_of(out, kind, has_none), special_chars):
                special.append(i)
        if out is not values:
            changed = True
        cells.append(out)
        kinds.append(kind)
    return CsvChunk(batch, cells, changed, kinds, tuple(null_columns), empty_counts, marker_text, marker_counts,
                    tuple(unchecked), tuple(special), flat, raw)


def _text_of(cells: Sequence[Any], kind: str, has_none: bool) -> str:
    """The text cells of a column joined (numbers and nulls left out)."""
    if kind is KIND_STR:
        return "".join(filter(None, cells)) if has_none else "".join(cells)
    return "".join([c for c in cells if type(c) is str])


def _holds_any(text: str, chars: str) -> bool:
    return any(char in text for char in chars)


def csv_batch(
    batch: Sequence[Sequence[Any]],
    columns: Sequence[str],
    *,
    null_marker: str = "",
    formula_guard: bool = True,
    first_row: int = 1,
) -> Sequence[Sequence[Any]]:
    """A batch of rows as rows of cells for :func:`csv.writer`: :func:`csv_chunk` without
    stand-ins other than the null marker text (Python's :mod:`csv` rules for ``""``).

    :param batch: rows, each with ``len(columns)`` fields.
    :param columns: column names, for error messages.
    :param null_marker: text for a null.
    :param formula_guard: apply the formula guard to string cells.
    :param first_row: 1-based row number of ``batch[0]``.
    :returns: ``batch`` unchanged, or a new list of row tuples.
    :raises UnrenderableValueError: naming the row and column of a value without a text form.
    """
    chunk = csv_chunk(batch, columns, formula_guard=formula_guard, first_row=first_row)
    return chunk.rows(chunk.cells(null_cell=null_marker or None))


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
    :param null_marker: text for a null (``None``, ``pandas.NA``, ``pandas.NaT``, NaT).
    :param formula_guard: also apply :func:`guard_formula` to string values.
    :param first_row: 1-based row number of ``values[0]``, for error messages.
    :param column: column name, for error messages.
    :returns: a new list of ``str``, one per value.
    :raises UnrenderableValueError: (a :class:`TypeError`) naming the row and column.
    """
    types = set(map(type, values))
    converters: dict[type, Callable[[Any], str | None]] = {}
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
    out: list[Any] = []
    for index, value in enumerate(values):
        try:
            out.append(converters[type(value)](value))
        except UnrenderableValueError as exc:
            raise exc.located(first_row + index, column) from None
        except ValueError as exc:
            out.append(_huge_int_text(value, exc))
    if not _NULLABLE_TYPES.isdisjoint(types):
        out = [null_marker if text is None else text for text in out]
    return out
