"""Prometheus name escaping, cases from statsd_exporter's ``pkg/mapper/escape_test.go`` and ours."""

from __future__ import annotations

import pytest

from airflow_export.bridge.mapping import escape_metric_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("clean_name", "clean_name"),
        ("a.b-c", "a_b_c"),
        ("0starts_with_digit", "_0starts_with_digit"),
        ("with.dot", "with_dot"),
        ("with😱emoji", "with_emoji"),
        ("with.*.multiple", "with___multiple"),
        ("test.web-server.foo.bar", "test_web_server_foo_bar"),
        ("a--b", "a_b"),
        ("a---b", "a_b"),
        ("airflow.export.requests.csv.success", "airflow_export_requests_csv_success"),
        ("", ""),
    ],
)
def test_escape_metric_name(name: str, expected: str) -> None:
    assert escape_metric_name(name) == expected
