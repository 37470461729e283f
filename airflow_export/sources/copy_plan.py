"""When ``COPY (query) TO STDOUT`` can write the cursor path's bytes, and the query that does it.

The cursor path (a server-side cursor -> :func:`airflow_export.writers.csv.write_csv`) writes each
value in its form of docs/formats.md ("Values"); PostgreSQL's ``COPY ... (FORMAT csv)`` writes its
own text (``t``/``f``, ``2013-01-01 10:00:00+01``, ``\\x00ff``, ``1e+15``, ``Infinity``, LF line
ends, no formula guard). :func:`plan_copy` describes the query (``LIMIT 0``: the result's column
types, no rows), and wraps it so the *server* casts every column into our form::

    COPY (SELECT <one expression per column> FROM (<query>) AS q(c1, c2, ...))
      TO STDOUT WITH (FORMAT csv, HEADER false, DELIMITER ',', QUOTE '"', NULL '', ENCODING 'UTF8')

The header (with its formula guard and quoting), the BOM, CRLF line ends, gzip and rolling are the
client's (:mod:`airflow_export.sources.postgres_copy`). What cannot be matched exactly (an option,
a column type, a session setting) is a :class:`CopyUnsupported` naming the reason, and the export
takes the cursor path instead. Reasons and the decision rule: docs/formats.md ("PostgreSQL: COPY or
cursor"), ADR 0045.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_export.writers.csv.options import CsvOptions


class CopyUnsupported(Exception):
    """COPY cannot write exactly what the cursor path writes; the message says why (one line)."""


# ------------------------------------------------------------------ the server-side forms

# The writers' rule (airflow_export.writers.values.forms.is_formula): a text starting with = @ TAB CR
# is guarded; one starting with + or - too, unless it is a plain signed number (-5, +1.5, -1e5, -.5):
# the writers' _SIGNED pattern, in PostgreSQL's regular expressions.
# No backslash in it ([.], not \.): with standard_conforming_strings off, '\.' would be read as '.'.
_SIGNED_NUMBER_RE = r"^[+-]([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
_IS_FORMULA = "(ascii({c}) IN (61, 64, 9, 13) OR (ascii({c}) IN (43, 45) AND {v} !~ '" + _SIGNED_NUMBER_RE + "'))"
# Every formula character is <= 64 ('@'): that one cheap test first keeps the usual text (a letter or a
# digit first) away from the IN lists and the regular expression (measured: +60 -> +10 ms per 1M values).
_GUARD = "CASE WHEN ascii({c}) <= 64 AND " + _IS_FORMULA.replace("{v}", "{c}") + " THEN '''' || {c} ELSE {c} END"
_GUARD_BPCHAR = (
    "CASE WHEN {c} IS NULL THEN NULL WHEN ascii(concat({c})) <= 64 AND " + _IS_FORMULA.replace("{v}", "concat({c})")
    + " THEN '''' || concat({c}) ELSE concat({c}) END"
)

# Python's repr of a float (positional for 1e-4 <= |x| < 1e16, "2.0" for whole numbers, "-0.0",
# "inf"/"-inf"); PostgreSQL's float8out writes the same shortest digits, positional only below 1e15.
# The usual float first: a whole number below 1e15 is float8out's digits and ".0" ("-0" -> "-0.0";
# NaN = NaN holds in PostgreSQL, abs(NaN) < 1e15 does not).
# From 2^54 up, a double is an integer whose neighbours are >= 4 apart, and a decimal with fewer digits than
# float8out's can lie exactly half-way to a neighbour: float8out (Ryu) never writes such a boundary value,
# Python's repr does when the mantissa m is even (reading it back rounds half to even, to this double):
# 1e23 is "9.999999999999999e+22" from PostgreSQL, "1e+23" from Python. So above 1e16 the two boundaries,
# computed exactly in numeric (|x| = m * 2^(p-52), 2^p <= |x| < 2^(p+1); the lower gap is half as wide at
# m = 2^52), replace float8out's digits when one of them is shorter. Reached by values >= 1e16 only.
# Each level is fenced (OFFSET 0) so that its values are computed once: flattened, the planner would
# copy p into every use (an expression thousands of nodes long, which JIT then compiles for minutes).
_ABS = "abs({c})"
_P0 = "least(floor(ln(" + _ABS + ") / ln(2::float8))::int, 1023)"
_P = (f"CASE WHEN power(2::float8, {_P0}) > {_ABS} THEN {_P0} - 1"
      f" WHEN {_ABS} / 2 >= power(2::float8, {_P0}) THEN {_P0} + 1 ELSE {_P0} END")
_FLOAT_BOUNDARY = (
    "(SELECT CASE WHEN {c} < 0 THEN '-' ELSE '' END || left(d, 1)"
    " || CASE WHEN length(d) > 1 THEN '.' || substr(d, 2) ELSE '' END || 'e+' || lpad((length(t) - 1)::text, 2, '0')"
    " FROM (SELECT t, rtrim(t, '0') AS d FROM (SELECT CASE"
    " WHEN m % 2 = 0 AND length(rtrim(lo::text, '0')) < n"
    " AND length(rtrim(lo::text, '0')) <= length(rtrim(hi::text, '0')) THEN lo::text"
    " WHEN m % 2 = 0 AND length(rtrim(hi::text, '0')) < n THEN hi::text END AS t"
    " FROM (SELECT m, m::numeric * ulp - CASE WHEN m = 4503599627370496 THEN div(ulp, 4) ELSE div(ulp, 2) END AS lo,"
    " m::numeric * ulp + div(ulp, 2) AS hi, length(replace(split_part(ltrim({c}::text, '-'), 'e', 1), '.', '')) AS n"
    " FROM (SELECT (" + _ABS + " / power(2::float8, p - 52))::int8 AS m, trunc(power(2::numeric, p - 52)) AS ulp"
    " FROM (SELECT " + _P + " AS p OFFSET 0) AS s0 OFFSET 0) AS s1 OFFSET 0) AS s2 OFFSET 0) AS s3"
    " WHERE t IS NOT NULL OFFSET 0) AS s4)"
)
_FLOAT = (
    "CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 THEN {c}::text || '.0'"
    " WHEN {c} = 'Infinity' THEN 'inf' WHEN {c} = '-Infinity' THEN '-inf'"
    " WHEN abs({c}) >= 1e15 AND abs({c}) < 1e16 THEN"
    " (CASE WHEN {c} < 0 THEN '-' ELSE '' END)"
    " || rpad(left(replace(split_part(ltrim({c}::text, '-'), 'e', 1), '.', ''), 16), 16, '0') || '.'"
    " || coalesce(nullif(substr(replace(split_part(ltrim({c}::text, '-'), 'e', 1), '.', ''), 17), ''), '0')"
    " WHEN abs({c}) >= 1e16 AND {c} <> 'NaN' THEN coalesce(" + _FLOAT_BOUNDARY + ", {c}::text)"
    " ELSE {c}::text END"
)

# Decimal: fixed point as PostgreSQL writes it; NaN; inf/-inf; Python's exponent form past 1,000
# zeros between the point and the first digit (writers.values.format_decimal).
_NUMERIC = (
    "CASE WHEN {c} IS NULL THEN NULL WHEN scale({c}) IS NULL THEN"
    " CASE {c}::text WHEN 'Infinity' THEN 'inf' WHEN '-Infinity' THEN '-inf'"
    " ELSE 'NaN' END"
    " WHEN scale({c}) <= 1000 OR abs({c}) >= 1 THEN {c}::text"
    " WHEN {c} = 0 THEN CASE WHEN scale({c}) > 1001 THEN '0E-' || scale({c}) ELSE {c}::text END"
    " WHEN scale({c}) - length(ltrim(substr(abs({c})::text, 3), '0')) <= 1000 THEN {c}::text"
    " ELSE (CASE WHEN {c} < 0 THEN '-' ELSE '' END) || left(ltrim(substr(abs({c})::text, 3), '0'), 1)"
    " || CASE WHEN length(ltrim(substr(abs({c})::text, 3), '0')) > 1"
    " THEN '.' || substr(ltrim(substr(abs({c})::text, 3), '0'), 2) ELSE '' END"
    " || 'E-' || (scale({c}) - length(ltrim(substr(abs({c})::text, 3), '0')) + 1) END"
)

_ISO_CLOCK = "'YYYY-MM-DD\"T\"HH24:MI:SS.US'"
# datetime.isoformat(): a fraction only when not zero (6 digits), the offset as +HH:MM[:SS].
# Values Python cannot hold (infinity, BC, years past 9999) are the server's text on both paths.
# The usual shapes by length (ISO DateStyle: "2013-01-01 10:00:00" is 19 characters, with "+01" 22; a
# fraction, an offset with minutes, BC, a fifth year digit or infinity make it another length) take two
# cheap string functions; to_char (which parses its format on every call) only the others.
# The usual timestamp (years 1-9999, whole seconds) is tested by comparisons, not by its text, which
# is then made once: the text output is the costly part (measured per 1M values: ~180 ms for one).
_WHOLE_SECONDS = "{c} >= '0001-01-01' AND {c} < '9999-12-30' AND {c} = {c}::timestamp(0)"
_TIMESTAMP = (
    "CASE WHEN " + _WHOLE_SECONDS + " THEN replace({c}::text, ' ', 'T')"
    " WHEN length({c}::text) = 19 THEN replace({c}::text, ' ', 'T')"
    " WHEN {c} >= '0001-01-01' AND {c} < '10000-01-01'"
    " THEN replace(to_char({c}, " + _ISO_CLOCK + "), '.000000', '')"
    " ELSE {c}::text END"
)
_TZ_FULL = (
    "replace(to_char({c}, " + _ISO_CLOCK + "), '.000000', '') || to_char({c}, 'TZH:TZM')"
    " || CASE WHEN date_part('timezone', {c})::int % 60 = 0 THEN ''"
    " ELSE ':' || lpad((abs(date_part('timezone', {c})::int) % 60)::text, 2, '0') END"
)
_TIMESTAMPTZ = (
    # No zone has had an offset with seconds since 1972 (Africa/Monrovia): the short form there.
    "CASE WHEN length({c}::text) = 22 THEN replace({c}::text, ' ', 'T') || ':00'"
    " WHEN {c} >= '1973-01-01 00:00:00+00' AND {c} < '9999-12-30 00:00:00+00'"
    " THEN replace(to_char({c}, " + _ISO_CLOCK + "), '.000000', '') || to_char({c}, 'TZH:TZM')"
    " WHEN isfinite({c}) AND date_part('year', {c}) BETWEEN 1 AND 9999 THEN " + _TZ_FULL + " ELSE {c}::text END"
)
# A session in UTC (the usual for a warehouse) writes every offset as "+00": the usual value needs
# only comparisons, and its text is made in UTC explicitly (a query may change TimeZone as it runs).
_UTC_ZONES = frozenset(z.lower() for z in (
    "UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0",
    "Etc/GMT-0", "Greenwich", "Etc/Greenwich", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
))
_TIMESTAMPTZ_UTC = (
    "CASE WHEN " + _WHOLE_SECONDS.replace("'0001-01-01'", "'0001-01-01 00:00:00+00'")
    .replace("'9999-12-30'", "'9999-12-30 00:00:00+00'").replace("::timestamp(0)", "::timestamptz(0)")
    + " THEN replace(({c} AT TIME ZONE 'UTC')::text, ' ', 'T') || '+00:00' ELSE " + _TIMESTAMPTZ + " END"
)
_TIME = "CASE WHEN {c} < '24:00:00' THEN replace(to_char({c}, 'HH24:MI:SS.US'), '.000000', '') ELSE {c}::text END"

_TEXT_TYPES = ("text", "varchar", "bpchar", "name")
_NUMBER_TYPES = ("int2", "int4", "int8", "float4", "float8", "numeric")

#: PostgreSQL type name -> the expression giving the cursor path's text; None: the server's text as is.
#: (formula guard: text types only, when on.)
FORMS: dict[str, str | None] = {
    "int2": None, "int4": None, "int8": None, "uuid": None,
    # ISO DateStyle: date_out already is isoformat(); infinity, BC, 5-digit years: the server's text on both paths.
    "date": None,
    "float8": _FLOAT,
    "float4": _FLOAT.replace("{c}", "{c}::text::float8"),
    "numeric": _NUMERIC,
    "bool": "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END",
    "bytea": "encode({c}, 'hex')",
    "timestamp": _TIMESTAMP,
    "timestamptz": _TIMESTAMPTZ,
    "time": _TIME,
    # Arrays of these load as Python lists and are written as compact JSON, which array_to_json writes.
    "_int2": "array_to_json({c})::text", "_int4": "array_to_json({c})::text", "_int8": "array_to_json({c})::text",
    "_text": "array_to_json({c})::text", "_varchar": "array_to_json({c})::text", "_bool": "array_to_json({c})::text",
    **dict.fromkeys(_TEXT_TYPES, None),
}

# The functions of the forms, called by their pg_catalog names: a function of the same name earlier in the
# session's search_path must not change the text (operators and type names are left as written).
_FUNCTION_CALL = re.compile(
    r"(?<![\w.])(ascii|replace|trunc|abs|to_char|length|encode|array_to_json|concat|date_part|isfinite|lpad|rpad"
    r"|left|split_part|ltrim|rtrim|substr|scale|ln|power|floor|div)\("
)


def _qualified(form: str) -> str:
    return _FUNCTION_CALL.sub(r"pg_catalog.\1(", form)


FORMS = {name: None if form is None else _qualified(form) for name, form in FORMS.items()}
_GUARD, _GUARD_BPCHAR, _TIMESTAMPTZ_UTC = map(_qualified, (_GUARD, _GUARD_BPCHAR, _TIMESTAMPTZ_UTC))

#: Why a type is not in :data:`FORMS` (where the reason is worth more than "no exact form").
_TYPE_REASONS = {
    "json": "json values are parsed into Python objects and re-serialised (duplicate keys, spacing)",
    "jsonb": "jsonb numbers with a fraction are re-written through Python floats",
    "interval": "intervals are converted with psycopg's 30-day months",
    "timetz": "time with time zone has no exact server form here",
}


@dataclass(frozen=True)
class CopyPlan:
    """A COPY statement writing the cursor path's bytes for one query and its options.

    :param statement: ``COPY (...) TO STDOUT WITH (...)`` with the parameters already bound.
    :param names: the result's column names (for the header).
    :param types: the result's column type names, in order.
    """

    statement: str
    names: list[str]
    types: list[str]


def options_reason(opts: CsvOptions) -> str | None:
    """Why these CSV options cannot be written by COPY byte for byte, or None when they can."""
    if codecs.lookup(opts.encoding).name not in ("utf-8", "utf-8-sig"):
        return f"encoding {opts.encoding!r}: COPY writes UTF-8 only here"
    if opts.lineterminator != "\r\n":
        return (f"lineterminator {opts.lineterminator!r}: the cursor path quotes a whole row holding the other "
                "line-break character, COPY only the field")
    for name in ("delimiter", "quotechar"):
        value = getattr(opts, name)
        if not value.isascii() or value in ("\\", "\x00"):
            return f"{name} {value!r}: COPY takes a one-byte ASCII character other than NUL and backslash"
    if "\x00" in opts.null_marker:
        return "null_marker holds NUL: COPY cannot send it"
    if opts.empty_string != "quoted":
        return "empty_string='empty': COPY always tells an empty string from a null"
    if opts.quoting == csv.QUOTE_NONE:
        return "quoting='none': COPY quotes a field that needs it"
    if opts.quoting == csv.QUOTE_MINIMAL and opts.null_marker:
        return f"null_marker {opts.null_marker!r} with quoting='minimal': COPY leaves an empty string unquoted then"
    if opts.quoting == csv.QUOTE_NONNUMERIC and _number_like(opts.null_marker):
        return f"null_marker {opts.null_marker!r} looks like a number: COPY would quote a number equal to it"
    return None


def _number_like(text: str) -> bool:
    if not text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def session_reason(settings: Mapping[str, str], types: Sequence[str], known_zone: bool) -> str | None:
    """Why the session's settings keep COPY's text from matching the cursor path's, or None."""
    if settings.get("client_encoding", "").upper() == "SQL_ASCII":
        return "client_encoding SQL_ASCII: the server does not say what its text is (psycopg reads it as bytes)"
    if not settings.get("DateStyle", "").startswith("ISO"):
        return f"DateStyle {settings.get('DateStyle')!r}: the server forms are written for ISO"
    try:
        extra = int(settings.get("extra_float_digits", "1"))
    except ValueError:
        extra = 0
    if extra < 1 and any(t in ("float4", "float8") for t in types):
        return f"extra_float_digits {extra}: the server rounds floats the client would read in full"
    if "timestamptz" in types and not known_zone:
        return f"TimeZone {settings.get('TimeZone')!r} is unknown to Python's zoneinfo (psycopg reads it as UTC)"
    return None


def is_utc(zone: str) -> bool:
    """Whether the session ``TimeZone`` setting names UTC (every ``timestamptz`` is written with ``+00``)."""
    return zone.lower() in _UTC_ZONES


def column_expression(index: int, type_name: str | None, formula_guard: bool, utc_session: bool = False) -> str:
    """The select-list expression of column ``index`` (1-based, ``q.c<index>``) giving the cursor path's text.

    :param utc_session: the session's ``TimeZone`` is UTC (:func:`is_utc`): a cheaper ``timestamptz`` form.
    :raises CopyUnsupported: the type has no exact server form.
    """
    column = f"q.c{index}"
    if type_name not in FORMS:
        why = _TYPE_REASONS.get(type_name or "", "no exact server form")
        raise CopyUnsupported(f"column {index} has type {type_name or 'unknown'}: {why}")
    form = _TIMESTAMPTZ_UTC if type_name == "timestamptz" and utc_session else FORMS[type_name]
    if type_name in _TEXT_TYPES and formula_guard:
        # char(n) keeps its padding only through its output function (concat); a cast to text drops it.
        form = _GUARD_BPCHAR if type_name == "bpchar" else _GUARD
    return column if form is None else form.format(c=column)


def build_statement(bound_sql: str, types: Sequence[str], opts: CsvOptions, literal: Callable[[str], str],
                    utc_session: bool = False) -> str:
    """The COPY statement for ``bound_sql`` (parameters already bound) with result ``types``.

    :param literal: quotes a string as an SQL literal (the driver's quoting).
    :param utc_session: the session's ``TimeZone`` is UTC (:func:`is_utc`).
    :raises CopyUnsupported: a type has no exact server form; a single text column (COPY quotes a
        lone ``\\.``, the cursor path does not).
    """
    if not types:
        raise CopyUnsupported("the query returns no columns")
    if len(types) == 1 and types[0] in _TEXT_TYPES:
        raise CopyUnsupported("a single text column: COPY quotes a value '\\.' standing alone on a line")
    exprs = [column_expression(i, t, opts.formula_guard, utc_session) for i, t in enumerate(types, start=1)]
    aliases = ", ".join(f"c{i}" for i in range(1, len(types) + 1))
    with_options = [
        "FORMAT csv", "HEADER false", f"DELIMITER {literal(opts.delimiter)}", f"QUOTE {literal(opts.quotechar)}",
        f"NULL {literal(opts.null_marker)}", "ENCODING 'UTF8'",
    ]
    if opts.quoting == csv.QUOTE_ALL:
        with_options.append("FORCE_QUOTE *")
    elif opts.quoting == csv.QUOTE_NONNUMERIC:
        quoted = [f"c{i}" for i, t in enumerate(types, start=1) if t not in _NUMBER_TYPES]
        if quoted:
            with_options.append(f"FORCE_QUOTE ({', '.join(quoted)})")
    select = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs, start=1))
    query = bound_sql.strip().rstrip(";").rstrip()
    return f"COPY (SELECT {select} FROM (\n{query}\n) AS q({aliases})) TO STDOUT WITH ({', '.join(with_options)})"


def describe_statement(bound_sql: str) -> str:
    """The query that tells the result's columns without producing a row."""
    query = bound_sql.strip().rstrip(";").rstrip()
    return f"SELECT * FROM (\n{query}\n) AS q LIMIT 0"


def type_names(description: Sequence[Any], name_of: Callable[[int], str | None]) -> list[str]:
    """The type names of a cursor description's columns (``name_of(oid)``; ``"oid <n>"`` when unknown)."""
    return [name_of(d[1]) or f"oid {d[1]}" for d in description]
