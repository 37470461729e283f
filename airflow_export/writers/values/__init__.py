"""The text form of cell values, shared by every writer.

Every value a row can hold is written as exactly one text, the same in CSV and PDF; the
table of forms (with examples) is docs/formats.md, "Values". Only nulls (``None``,
``pandas.NA``, ``pandas.NaT``, NaT ``numpy.datetime64``/``timedelta64``) become the null
marker; subclasses take the form of their base; numpy and pandas are never imported here.
A value without a text form raises :class:`UnrenderableValueError` (a :class:`TypeError`)
naming row and column. The formula guard (:func:`guard_formula`, OWASP "CSV Injection")
is the CSV writer's.
"""

from airflow_export.writers.values.convert import (
    NULLABLE_TYPES,
    format_column,
    format_json,
    format_value,
    huge_int_text,
    raise_unrenderable,
    text_converter,
)
from airflow_export.writers.values.forms import (
    DECIMAL_MAX_PADDING,
    FORMULA_GUARD_PREFIX,
    FORMULA_TRIGGERS,
    NONE_TYPE,
    ServerText,
    UnrenderableValueError,
    count_formulas,
    format_bool,
    format_decimal,
    format_float,
    format_integral,
    format_str,
    format_timedelta,
    guard_formula,
    guard_texts,
    is_formula,
)
from airflow_export.writers.values.numpy_forms import (
    format_datetime64,
    format_numpy_float,
    format_timedelta64,
    to_null,
)

__all__ = [
    "DECIMAL_MAX_PADDING",
    "FORMULA_GUARD_PREFIX",
    "FORMULA_TRIGGERS",
    "NONE_TYPE",
    "NULLABLE_TYPES",
    "ServerText",
    "UnrenderableValueError",
    "format_bool",
    "format_column",
    "format_datetime64",
    "format_decimal",
    "format_float",
    "format_integral",
    "format_json",
    "format_numpy_float",
    "format_str",
    "format_timedelta",
    "format_timedelta64",
    "format_value",
    "count_formulas",
    "guard_formula",
    "guard_texts",
    "is_formula",
    "huge_int_text",
    "raise_unrenderable",
    "text_converter",
    "to_null",
]
