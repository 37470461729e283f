"""The text form of values (format_value, format_column, csv_column): one exact case per line."""

from __future__ import annotations

import csv
import enum
import io
import json
import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from airflow_export.writers.csv.cells import csv_column
from airflow_export.writers.values import (
    FORMULA_TRIGGERS,
    UnrenderableValueError,
    format_column,
    format_decimal,
    format_timedelta,
    format_value,
    guard_formula,
)
from tests.writers.support import SIGNED_TEXT_CASES


def _cyclic():
    value = {"a": [1]}
    value["a"].append(value)
    return value


def _cyclic_with_nan():
    value = [float("nan")]  # the strict encoder stops at the NaN; the NaN-replacing copy finds the cycle
    value.append(value)
    return value


def _deep(depth, leaf=None):
    top = current = []
    for _ in range(depth):
        current.append([])
        current = current[0]
    current.append(leaf)
    return top


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([float("nan"), float("inf"), -float("inf")], '["NaN","inf","-inf"]'),
        ({"a": {"b": [1, float("nan")]}}, '{"a":{"b":[1,"NaN"]}}'),
        ({float("nan"): 1, 1.5: 2, "x": None}, '{"NaN":1,"1.5":2,"x":null}'),
        ([1.5, -0.0, 1e300, (2, float("inf"))], '[1.5,-0.0,1e+300,[2,"inf"]]'),
        ([Decimal("NaN"), Decimal("Infinity")], '["NaN","inf"]'),  # the same texts as nested Decimals
        ({"é": "東京", "n": [True, None]}, '{"é":"東京","n":[true,null]}'),
    ],
)
def test_nested_non_finite_floats_are_json_strings(value, text):
    """Nested NaN/inf are their top-level text as a JSON string: the cell is strict JSON."""
    assert format_value(value) == text
    assert format_column([value]) == [text]
    assert csv_column([value, None]) == [text, None]
    json.loads(text, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))


class Color(enum.IntEnum):
    RED = 1


class Tag(str):
    pass


class Opaque:
    pass


TZ2 = timezone(timedelta(hours=2))

CASES = [
    (None, ""),
    ("", ""),
    ("plain", "plain"),
    ("a,b", "a,b"),
    ("東京 🚀", "東京 🚀"),
    (Tag("sub"), "sub"),
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (-5, "-5"),
    (10**20, "100000000000000000000"),
    (Color.RED, "1"),
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (0.1, "0.1"),
    (1.5, "1.5"),
    (1e-7, "1e-07"),
    (1e16, "1e+16"),
    (123456789.125, "123456789.125"),
    (float("nan"), "NaN"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (Decimal("1E-7"), "0.0000001"),
    (Decimal("1E+3"), "1000"),
    (Decimal("1.50"), "1.50"),
    (Decimal("-0.001"), "-0.001"),
    (Decimal("1.5E+1"), "15"),
    (Decimal("12345678901234567890.123456789"), "12345678901234567890.123456789"),
    (Decimal("NaN"), "NaN"),
    (Decimal("sNaN"), "NaN"),
    (Decimal("Infinity"), "inf"),
    (Decimal("-Infinity"), "-inf"),
    (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
    (datetime(2024, 1, 2, 3, 4, 5, 600), "2024-01-02T03:04:05.000600"),
    (datetime(2024, 1, 2, 3, 4, 5, tzinfo=TZ2), "2024-01-02T03:04:05+02:00"),
    (datetime(2024, 1, 2, tzinfo=UTC), "2024-01-02T00:00:00+00:00"),
    (date(2024, 2, 29), "2024-02-29"),
    (time(23, 59, 1), "23:59:01"),
    (time(1, 2, 3, 4, tzinfo=TZ2), "01:02:03.000004+02:00"),
    (timedelta(0), "PT0S"),
    (timedelta(days=1), "P1D"),
    (timedelta(days=1, hours=2, seconds=3.5), "P1DT2H3.5S"),
    (timedelta(hours=25), "P1DT1H"),
    (timedelta(minutes=90), "PT1H30M"),
    (timedelta(minutes=-90), "-PT1H30M"),
    (timedelta(seconds=59, microseconds=120000), "PT59.12S"),
    (timedelta(microseconds=1), "PT0.000001S"),
    (timedelta(microseconds=-1), "-PT0.000001S"),
    (timedelta(days=-2), "-P2D"),
    (b"", ""),
    (b"\x00\xff\x10", "00ff10"),
    (bytearray(b"AB"), "4142"),
    (memoryview(b"\xde\xad"), "dead"),
    (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
    ({}, "{}"),
    ([], "[]"),
    ({"a": [1, 2], "b": None}, '{"a":[1,2],"b":null}'),
    ({"k": "é", "d": Decimal("1.10"), "t": date(2020, 1, 1)}, '{"k":"é","d":"1.10","t":"2020-01-01"}'),
    ([True, 1.5, "x", (1, 2)], '[true,1.5,"x",[1,2]]'),
]


@pytest.mark.parametrize(("value", "text"), CASES)
def test_format_value(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize(("value", "text"), CASES)
def test_csv_column_writes_the_same_text(value, text):
    """What csv.writer writes for csv_column's cells is exactly format_value's text."""
    cells = csv_column([value], formula_guard=False)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["x", *cells])
    assert next(csv.reader(io.StringIO(buf.getvalue())))[1] == text


@pytest.mark.parametrize(("value", "text"), CASES)
def test_format_column_matches_format_value(value, text):
    assert format_column([value, value]) == [text, text]


@pytest.mark.parametrize(
    ("value", "marker", "text"),
    [
        (None, "NULL", "NULL"),
        (None, r"\N", r"\N"),
        ("", "NULL", ""),
        (0, "NULL", "0"),
        (False, "NULL", "false"),
        (float("nan"), "NULL", "NaN"),
        (Decimal(0), "NULL", "0"),
    ],
)
def test_only_none_becomes_the_null_marker(value, marker, text):
    assert format_value(value, null_marker=marker) == text
    assert [str(c) for c in csv_column([value], null_marker=marker)] == [text]
    assert format_column([value], null_marker=marker) == [text]


@pytest.mark.parametrize(
    ("text", "guarded"),
    [
        ("=1+1", "'=1+1"),
        *SIGNED_TEXT_CASES,
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("=", "'="),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("'=1", "'=1"),
        ("", ""),
        ("\nx", "\nx"),
        ("1-2", "1-2"),
    ],
)
def test_guard_formula(text, guarded):
    assert guard_formula(text) == guarded
    assert list(csv_column([text])) == [guarded]
    assert list(csv_column([text], formula_guard=False)) == [text]
    assert csv_column([text, None]) == [guarded, None]
    assert format_column([text], formula_guard=True) == [guarded]
    assert format_column([text]) == [text]


def test_formula_triggers_are_the_owasp_set():
    assert FORMULA_TRIGGERS == ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    "column",
    [
        [-5, 3, None],
        [-1.5, float("-inf"), None],
        [Decimal("-2"), None],
        [True, -3],
    ],
)
def test_formula_guard_never_touches_numbers(column):
    cells = [str(c) if c is not None else "" for c in csv_column(column)]
    assert cells == [format_value(v) for v in column]
    assert not any(c.startswith("'") for c in cells)


def test_guard_in_mixed_column():
    assert csv_column(["=x", 5, Tag("-y"), None]) == ["'=x", 5, "'-y", None]


@pytest.mark.parametrize(
    "column",
    [
        [1, 2, 3],
        [1, None, 3],
        [1.5, None, 2.0],
        ["a", None, "b"],
        [None, None],
        [],
    ],
)
def test_unchanged_columns_are_returned_as_is(column):
    values = tuple(column)
    assert csv_column(values) is values


def test_nan_in_float_column_is_replaced():
    cells = csv_column((1.0, None, float("nan"), 0.0))
    assert [str(c) for c in cells] == ["1.0", "None", "NaN", "0.0"]


def test_quote_nonnumeric_leaves_numbers_unquoted():
    columns = [
        csv_column((1, 2)),
        csv_column((float("nan"), 1.5)),
        csv_column((Decimal("1E-7"), Decimal("2.50"))),
        csv_column((Color.RED, 3)),
        csv_column((True, False)),
        csv_column(("x", None)),
    ]
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(zip(*columns, strict=False))
    assert buf.getvalue() == '1,NaN,0.0000001,1,"true","x"\n2,1.5,2.50,3,"false",""\n'


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: format_value(object(), row=17, column="price"),
         "row 17, column 'price': cannot render value of type object"),
        (lambda: format_value(Opaque()), "cannot render value of type Opaque"),
        (lambda: format_value({1, 2}, row=1, column="s"), "row 1, column 's': cannot render value of type set"),
        (lambda: format_value((1, 2), column="t"), "column 't': cannot render value of type tuple"),
        (lambda: format_value(complex(1, 2)), "cannot render value of type complex"),
        (lambda: format_value({"a": Opaque()}, row=3, column="j"),
         "row 3, column 'j': cannot render value of type Opaque"),
        (lambda: csv_column([1, 2, object()], first_row=15, column="price"),
         "row 17, column 'price': cannot render value of type object"),
        (lambda: csv_column([None, "a", [Opaque()]], first_row=1, column="j"),
         "row 3, column 'j': cannot render value of type Opaque"),
        (lambda: format_column(["a", Opaque()], first_row=100, column="c"),
         "row 101, column 'c': cannot render value of type Opaque"),
        (lambda: format_column([{"x": {1}}], first_row=9, column="c"),
         "row 9, column 'c': cannot render value of type set"),
        # dict/list that JSON cannot hold: the error of every other bad value, with the reason.
        (lambda: format_value({(1, 2): 2}, row=4, column="j"),
         "row 4, column 'j': cannot render value of type dict "
         "(JSON keys must be str, int, float, bool or None, not tuple)"),
        (lambda: format_value(_cyclic(), row=5, column="j"),
         "row 5, column 'j': cannot render value of type dict (it contains itself: a circular reference)"),
        (lambda: format_value(_cyclic_with_nan(), row=5, column="j"),
         "row 5, column 'j': cannot render value of type list (it contains itself: a circular reference)"),
        (lambda: csv_column([None, "a", {"k": 1}, _cyclic()], first_row=10, column="j"),
         "row 13, column 'j': cannot render value of type dict (it contains itself: a circular reference)"),
        (lambda: format_column([[1], _deep(3000)], first_row=1, column="c"),
         f"row 2, column 'c': cannot render value of type list (nested deeper than the recursion limit of "
         f"{sys.getrecursionlimit()} levels)"),
        (lambda: format_column([[1], [float("nan"), _deep(3000)]], first_row=1, column="c"),
         f"row 2, column 'c': cannot render value of type list (nested deeper than the recursion limit of "
         f"{sys.getrecursionlimit()} levels)"),
    ],
)
def test_unrenderable_values_name_row_and_column(call, message):
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value) == message
    assert isinstance(info.value, UnrenderableValueError)


def test_unrenderable_error_fields():
    error = UnrenderableValueError("object", 17, "price")
    assert (error.type_name, error.row, error.column) == ("object", 17, "price")


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("0E-10"), "0.0000000000"), (Decimal("-1E+2"), "-100"), (Decimal("123.4500"), "123.4500")],
)
def test_format_decimal(value, text):
    assert format_decimal(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(weeks=1), "P7D"), (timedelta(seconds=3600), "PT1H"),
     (timedelta(days=1, microseconds=500), "P1DT0.0005S")],
)
def test_format_timedelta(value, text):
    assert format_timedelta(value) == text


# ---------------------------------------------------------------- numpy and pandas values

import numpy as np  # noqa: E402  (in the project's environment; values.py itself never imports them)
import pandas as pd  # noqa: E402

from airflow_export.writers.values import format_datetime64, format_numpy_float  # noqa: E402

NUMPY_PANDAS_CASES = [
    (pd.NA, ""),
    (pd.NaT, ""),
    (np.datetime64("NaT"), ""),
    (np.datetime64("NaT", "ns"), ""),
    (np.bool_(True), "true"),
    (np.bool_(False), "false"),
    (np.int64(-7), "-7"),
    (np.uint8(255), "255"),
    (np.float64(0.1), "0.1"),
    (np.float64("nan"), "NaN"),
    (np.float32(0.1), "0.1"),
    (np.float32(1e-7), "1e-07"),
    (np.float32(16777216.0), "16777216.0"),
    (np.float32(123456789.0), "123456790.0"),
    (np.float32(1e20), "1e+20"),
    (np.float32(3.4028235e38), "3.4028235e+38"),
    (np.float32(-2.5), "-2.5"),
    (np.float32(0.0), "0.0"),
    (np.float32(-0.0), "-0.0"),
    (np.float32(0.0001), "0.0001"),
    (np.float32(0.00001), "1e-05"),
    (np.float32("nan"), "NaN"),
    (np.float32("inf"), "inf"),
    (np.float32("-inf"), "-inf"),
    (np.float16(0.1), "0.1"),
    (np.float16(65504), "65500.0"),
    (np.longdouble("0.1"), "0.1"),
    (np.datetime64("2013-01-01T05:15:00", "s"), "2013-01-01T05:15:00"),
    (np.datetime64("2013-01-01T05:15:00", "ns"), "2013-01-01T05:15:00"),
    (np.datetime64("2013-01-01T05:15:00.5", "ns"), "2013-01-01T05:15:00.500000"),
    (np.datetime64("2013-01-01T05:15:00.000000001", "ns"), "2013-01-01T05:15:00.000000001"),
    (np.datetime64("2013-01-01T05:15:00.25", "ms"), "2013-01-01T05:15:00.250000"),
    (np.datetime64("1970-01-01T00:00:01.000000000001", "ps"), "1970-01-01T00:00:01.000000000001"),
    (np.datetime64("1970-01-01T00:00:01", "ps"), "1970-01-01T00:00:01"),
    (np.datetime64("1969-12-31T23:59:59.5", "ms"), "1969-12-31T23:59:59.500000"),
    (np.datetime64("2013-01-01T05", "h"), "2013-01-01T05:00:00"),
    (np.datetime64("2013-01-01T05:15", "m"), "2013-01-01T05:15:00"),
    (np.datetime64("2013-01-01", "D"), "2013-01-01"),
    (np.datetime64("2013-01", "M"), "2013-01"),
    (np.datetime64("2013", "Y"), "2013"),
    (np.datetime64("2013-01-03", "W"), "2013-01-03"),
    (pd.Timestamp("2020-01-02 03:04:05"), "2020-01-02T03:04:05"),
    (pd.Timestamp("2020-01-02 03:04:05", tz="UTC"), "2020-01-02T03:04:05+00:00"),
    (np.timedelta64("NaT"), ""),
    (np.timedelta64(90, "m"), "PT1H30M"),
    (np.timedelta64(1500, "ns"), "PT0.0000015S"),
    (np.timedelta64(-2, "D"), "-P2D"),
    (np.timedelta64(1, "W"), "P7D"),
    (np.timedelta64(0, "s"), "PT0S"),
    (np.timedelta64(3, "M"), "P3M"),
    (np.timedelta64(-1, "Y"), "-P1Y"),
    (np.timedelta64(25, "h"), "P1DT1H"),
    (np.timedelta64(3, "ms").astype("m8[10ms]"), "PT0S"),
    (np.timedelta64(30, "ms").astype("m8[10ms]"), "PT0.03S"),
    (pd.Timedelta(minutes=-90), "-PT1H30M"),
    (np.str_("text"), "text"),
    (np.bytes_(b"\x01"), "01"),
    ({"a": pd.NA, "b": np.float32(0.5)}, '{"a":null,"b":"0.5"}'),
]


@pytest.mark.parametrize(("value", "text"), NUMPY_PANDAS_CASES)
def test_format_value_numpy_pandas(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize(("value", "text"), NUMPY_PANDAS_CASES)
def test_csv_column_and_format_column_numpy_pandas(value, text):
    cells = csv_column([value, None], formula_guard=False)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["x", *cells])
    assert next(csv.reader(io.StringIO(buf.getvalue())))[1:] == [text, ""]
    assert format_column([value, None], null_marker="-") == [text or "-", "-"] if text else True


@pytest.mark.parametrize("value", [pd.NA, pd.NaT, np.datetime64("NaT"), None])
def test_nulls_become_the_null_marker(value):
    assert format_value(value, null_marker="NULL") == "NULL"
    assert format_column([value, "x"], null_marker="NULL") == ["NULL", "x"]
    assert csv_column([value, "x"], null_marker="NULL") == ["NULL", "x"]


def test_numpy_floats_stay_unquoted_under_quote_nonnumeric():
    cells = csv_column([np.float32(0.1), np.float16("nan"), np.bool_(True)])
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerow(cells)
    assert buf.getvalue() == '0.1,NaN,"true"\n'


def test_format_numpy_float_lays_out_like_repr():
    """On float64 (where numpy's shortest digits are Python's), the layout must equal repr."""
    values = [0.0, -0.0, 1.0, 0.1, 1.5, 1e-4, 1e-5, 9.999e-5, 123456789.125, 1e15, 1e16, 9.5e15, 1.7976931348623157e308,
              5e-324, 2.5e-10, -3.75e21, 12345.678, 1 / 3, 2 / 3 * 1e-7]
    for value in values:
        assert format_numpy_float(np.float64(value)) == repr(value), value


def test_format_numpy_float_reads_back_in_its_own_type():
    rng = np.random.default_rng(7)
    for dtype, exponents in ((np.float16, 4), (np.float32, 30), (np.longdouble, 300)):
        values = (rng.standard_normal(300) * 10.0 ** rng.integers(-exponents, exponents, 300)).astype(dtype)
        assert np.isfinite(values).all()
        for value in values:
            text = format_numpy_float(value)
            assert dtype(text) == value, (dtype, value, text)
            assert len(text.replace("-", "").replace(".", "").split("e")[0].strip("0")) <= {
                np.float16: 5, np.float32: 9, np.longdouble: 21}[dtype]


def test_format_datetime64_returns_none_for_nat():
    assert format_datetime64(np.datetime64("NaT", "s")) is None


def test_numpy_complex_has_no_text_form():
    with pytest.raises(UnrenderableValueError, match="^row 3, column 'z': cannot render value of type complex128$"):
        format_value(np.complex128(1j), row=3, column="z")
