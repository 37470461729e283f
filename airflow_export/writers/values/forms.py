"""Text forms of single values (the table in docs/formats.md, "Values"), numpy/pandas aside.

Each ``format_*`` function takes one value of its type and returns its text; nulls are the
caller's (:func:`airflow_export.writers.values.format_value`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: Prefix put before a string cell starting with one of :data:`FORMULA_TRIGGERS`.
FORMULA_GUARD_PREFIX = "'"
#: A plain decimal number with a sign (``-5``, ``+1.5``, ``-1e5``, ``-.5``): a spreadsheet reads it
#: as that number, never as a formula, so the guard leaves it as it is (ASCII digits only;
#: possessive quantifiers: no backtracking on long digit runs).
_SIGNED = r"[+-](?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+"
_SIGNED_NUMBER = re.compile(_SIGNED).fullmatch
#: Signed numbers, one a line: checks a whole column's candidates in one C pass.
_SIGNED_LINES = re.compile(f"(?:{_SIGNED}\n)*+{_SIGNED}").fullmatch
NONE_TYPE = type(None)
_ONE_MICROSECOND = timedelta(microseconds=1)


class UnrenderableValueError(TypeError):
    """A value has no text form (the table in docs/formats.md, "Values").

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

    def located(self, row: int | None, column: str | None) -> UnrenderableValueError:
        """The same error naming ``row`` and ``column`` (type and reason kept)."""
        return UnrenderableValueError(self.type_name, row, column, self.reason)


class ServerText:
    """A value the database holds but Python cannot (PostgreSQL's ``infinity``, ``-infinity``, BC
    dates, years past 9999), written as the database's own text: never guarded, never a null.

    :param text: the server's text of the value, e.g. ``"-infinity"``.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"ServerText({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServerText) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def is_formula(text: str) -> bool:
    """True if a spreadsheet may read ``text`` as a formula: it begins with a formula trigger
    (``= + - @``, tab, CR) and is not a plain signed number (``-5``, ``+1.5``, ``-1e5``).

    Source: OWASP "CSV Injection"; ``"-1+2"`` and ``"-2+3+cmd|' /C calc'!A0"`` are formulas.
    """
    return text.startswith(FORMULA_TRIGGERS) and _SIGNED_NUMBER(text) is None


def guard_formula(text: str) -> str:
    """``text`` with a ``'`` prefix if it may be read as a formula (:func:`is_formula`).

    ``"=1+1"`` -> ``"'=1+1"``; ``"-5"`` -> ``"-5"``; ``"a=b"`` -> ``"a=b"``; ``""`` -> ``""``.

    :param text: a string cell.
    :returns: the cell text to write.
    """
    return FORMULA_GUARD_PREFIX + text if is_formula(text) else text


def guard_texts(values: Sequence[Any]) -> tuple[Sequence[Any], int]:
    """A column of strings and ``None`` with :func:`guard_formula` applied, and the number of
    cells it changed; ``values`` itself when it changed none.

    The cells starting with a trigger are picked first; when they are all signed numbers (a
    column of numbers held as text) one regular expression over them joined proves it.
    """
    starts = [v for v in values if v and v.startswith(FORMULA_TRIGGERS)]
    if not starts:
        return values, 0
    joined = "\n".join(starts)
    if joined.count("\n") == len(starts) - 1 and _SIGNED_LINES(joined) is not None:
        return values, 0
    formulas = {v for v in starts if _SIGNED_NUMBER(v) is None}
    if not formulas:
        return values, 0
    return [FORMULA_GUARD_PREFIX + v if v in formulas else v for v in values], sum(v in formulas for v in starts)


def count_formulas(values: Sequence[Any]) -> int:
    """How many string cells (``str`` subclasses too) among ``values`` :func:`guard_formula` changes."""
    return sum(1 for v in values if isinstance(v, str) and is_formula(v))


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
    assert isinstance(exponent, int)  # finite: "n", "N", "F" are NaN and infinities, handled above
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
    return iso_duration(value // _ONE_MICROSECOND, 6)


def iso_duration(ticks: int, digits: int) -> str:
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



def format_bytes(value: bytes | bytearray | memoryview) -> str:
    return value.hex()


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def format_integral(value: Any) -> str:
    return int.__repr__(int(value))


def format_isoformat(value: date | time) -> str:
    return value.isoformat()


def format_str(value: str) -> str:
    return str.__str__(value)

