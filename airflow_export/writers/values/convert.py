"""Value -> text: the converter of each type, :func:`format_value`, :func:`format_column`, JSON."""

from __future__ import annotations

import json
import numbers
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from airflow_export.writers.values.forms import (
    NONE_TYPE,
    ServerText,
    UnrenderableValueError,
    format_bool,
    format_bytes,
    format_decimal,
    format_float,
    format_integral,
    format_isoformat,
    format_str,
    format_timedelta,
    guard_formula,
)
from airflow_export.writers.values.numpy_forms import (
    format_datetime64,
    format_timedelta64,
    third_party_converter,
    to_null,
)


def _json_default(value: Any) -> Any:
    convert = text_converter(type(value))
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


def text_converter(value_type: type) -> Callable[[Any], str | None] | None:
    """The value -> text function for ``value_type`` (not ``NoneType``), or None if it has none.

    The function returns None for a null (types in :data:`NULLABLE_TYPES`).
    """
    try:
        return _TEXT_CONVERTERS[value_type]
    except KeyError:
        pass
    convert: Callable[[Any], str | None] | None
    if (convert := third_party_converter(value_type)) is not None:
        if convert in (to_null, format_datetime64, format_timedelta64):
            NULLABLE_TYPES.add(value_type)
    elif issubclass(value_type, str):
        convert = format_str
    elif issubclass(value_type, bool):
        convert = format_bool
    elif issubclass(value_type, numbers.Integral):
        convert = format_integral
    elif issubclass(value_type, float):
        convert = format_float
    elif issubclass(value_type, Decimal):
        convert = format_decimal
    elif issubclass(value_type, (datetime, date, time)):
        convert = format_isoformat
    elif issubclass(value_type, timedelta):
        convert = format_timedelta
    elif issubclass(value_type, (bytes, bytearray, memoryview)):
        convert = format_bytes
    elif issubclass(value_type, (UUID, ServerText)):
        convert = str
    elif issubclass(value_type, (dict, list)):
        convert = format_json
    else:
        convert = None
    _TEXT_CONVERTERS[value_type] = convert
    return convert


#: Types whose converter may return None (a null): pandas.NA, pandas.NaT, numpy.datetime64/timedelta64.
NULLABLE_TYPES: set[type] = set()

_TEXT_CONVERTERS: dict[type, Callable[[Any], str | None] | None] = {
    str: format_str,
    bool: format_bool,
    int: int.__repr__,
    float: format_float,
    Decimal: format_decimal,
    datetime: format_isoformat,
    date: format_isoformat,
    time: format_isoformat,
    timedelta: format_timedelta,
    bytes: format_bytes,
    bytearray: format_bytes,
    memoryview: format_bytes,
    UUID: str,
    ServerText: str,
    dict: format_json,
    list: format_json,
}


def format_value(
    value: Any, *, null_marker: str = "", row: int | None = None, column: str | None = None
) -> str:
    """The text form of one value (the table in docs/formats.md, "Values").

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
    convert = text_converter(type(value))
    if convert is None:
        raise UnrenderableValueError(type(value).__name__, row, column)
    try:
        text = convert(value)
    except UnrenderableValueError as exc:  # nested in a dict/list
        raise exc.located(row, column) from None
    except ValueError as exc:
        text = huge_int_text(value, exc)
    return null_marker if text is None else text


def huge_int_text(value: Any, error: ValueError) -> str:
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


def raise_unrenderable(values: Sequence[Any], bad: set[type], first_row: int, column: str | None) -> None:
    for index, value in enumerate(values):
        if type(value) in bad:
            raise UnrenderableValueError(type(value).__name__, first_row + index, column)
    raise AssertionError("unreachable")  # pragma: no cover


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
        if value_type is NONE_TYPE:
            continue
        convert = text_converter(value_type)
        if convert is None:
            bad.add(value_type)
        elif formula_guard and issubclass(value_type, str):
            converters[value_type] = lambda v: guard_formula(str.__str__(v))
        else:
            converters[value_type] = convert
    if bad:
        raise_unrenderable(values, bad, first_row, column)
    converters[NONE_TYPE] = lambda _: null_marker
    out: list[Any] = []
    for index, value in enumerate(values):
        try:
            out.append(converters[type(value)](value))
        except UnrenderableValueError as exc:
            raise exc.located(first_row + index, column) from None
        except ValueError as exc:
            out.append(huge_int_text(value, exc))
    if not NULLABLE_TYPES.isdisjoint(types):
        out = [null_marker if text is None else text for text in out]
    return out
