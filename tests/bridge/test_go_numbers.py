"""Go ``strconv`` number syntax, as statsd_exporter reads StatsD values, rates and timestamps."""

from __future__ import annotations

import pytest

from airflow_export.bridge.go_numbers import is_go_int, parse_go_float


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12.0),
        ("-1.5", -1.5),
        ("+3", 3.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-2", 0.01),
        ("0x1p-2", 0.25),
        ("-0X1.8P1", -3.0),
        ("1e-400", 0.0),
        ("", None),
        ("abc", None),
        ("NaN", None),
        ("-inf", None),
        ("infinity", None),
        ("1e400", None),
        (" 1", None),
        ("1 ", None),
        ("1_000", None),
        ("0x10", None),
        ("١٢", None),
    ],
)
def test_parse_go_float(text: str, expected: float | None) -> None:
    assert parse_go_float(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", True),
        ("1700000000", True),
        ("+12", True),
        ("-12", True),
        ("9223372036854775807", True),
        ("9223372036854775808", False),
        ("-9223372036854775808", True),
        ("", False),
        ("+", False),
        ("1.5", False),
        ("1_000", False),
        (" 1", False),
        ("١٢", False),
    ],
)
def test_is_go_int(text: str, expected: bool) -> None:
    assert is_go_int(text) is expected
