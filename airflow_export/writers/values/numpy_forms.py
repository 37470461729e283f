"""Text forms of numpy and pandas values, recognised through :data:`sys.modules` only.

numpy and pandas are never imported here: a value of theirs exists, so they are loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from airflow_export.writers.values.forms import format_bool, iso_duration

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
    return iso_duration(ticks * scale, digits)


def to_null(value: Any) -> None:
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


def third_party_converter(value_type: type) -> Callable[[Any], str | None] | None:
    """Converter for a pandas/numpy type that needs one of its own, found through the
    modules already imported (a value of theirs exists, so they are in ``sys.modules``)."""
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        for name in ("NA", "NaT"):
            singleton = getattr(pandas, name, None)
            if singleton is not None and issubclass(value_type, type(singleton)):
                return to_null
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if issubclass(value_type, numpy.bool_):
            return format_bool
        if issubclass(value_type, numpy.datetime64):
            return format_datetime64
        if issubclass(value_type, numpy.timedelta64):  # before Integral: numpy registers it as one
            return format_timedelta64
        if issubclass(value_type, numpy.floating) and not issubclass(value_type, float):
            return format_numpy_float
    return None


