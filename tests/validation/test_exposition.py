"""Exposition helpers: samples by name/labels, sums, histogram buckets summed by le."""

from __future__ import annotations

import math

import pytest

from airflow_export.validation import (
    ExpositionError,
    histogram_buckets,
    parse_exposition,
    sample_values,
    sum_values,
)
from tests.validation.expositions import exposition

SAMPLES = parse_exposition(exposition())
INF = math.inf


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        ("airflow_export_requests_total", None, [19.0, 1.0]),
        ("airflow_export_requests_total", {"status": "failed"}, [1.0]),
        ("airflow_export_requests_total", {"format": "csv", "status": "success"}, [19.0]),
        ("airflow_export_requests_total", {"format": "xlsx"}, []),
        ("airflow_export_running", {}, [0.0]),
        ("airflow_export_running_high_water", None, [4.0]),
        ("airflow_pool_scheduled_slots_high_water", {"pool": "export_pool"}, [15.0]),
        ("airflow_export_memory_peak_bytes", None, [52428800.0, 134217728.0]),
        ("airflow_export_duration_seconds_count", None, [19.0, 1.0]),
        ("airflow_export_duration_seconds_sum", {"format": "csv"}, [24.6]),
        # the family name of a counter is not a sample name
        ("airflow_export_requests", None, []),
    ],
)
def test_sample_values(name, labels, expected):
    assert sample_values(SAMPLES, name, labels) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        ("airflow_export_requests_total", None, 20.0),
        ("airflow_export_requests_total", {"status": "success"}, 19.0),
        ("airflow_export_throughput_records_per_second", None, 184250.0),
        ("airflow_export_nonexistent_total", None, None),
    ],
)
def test_sum_values(name, labels, expected):
    assert sum_values(SAMPLES, name, labels) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # csv + pdf summed per le
        (
            None,
            [
                (0.1, 0.0),
                (0.25, 0.0),
                (0.5, 6.0),
                (1.0, 12.0),
                (2.5, 18.0),
                (5.0, 20.0),
                (10.0, 20.0),
                (30.0, 20.0),
                (60.0, 20.0),
                (INF, 20.0),
            ],
        ),
        (
            {"format": "pdf"},
            [
                (0.1, 0.0),
                (0.25, 0.0),
                (0.5, 0.0),
                (1.0, 0.0),
                (2.5, 1.0),
                (5.0, 1.0),
                (10.0, 1.0),
                (30.0, 1.0),
                (60.0, 1.0),
                (INF, 1.0),
            ],
        ),
        ({"format": "xlsx"}, []),
    ],
)
def test_histogram_buckets(labels, expected):
    assert histogram_buckets(SAMPLES, "airflow_export_duration_seconds", labels) == expected


def test_le_spellings_are_one_bucket():
    text = (
        "# TYPE h histogram\n"
        'h_bucket{a="x",le="1"} 2.0\nh_bucket{a="x",le="+Inf"} 3.0\n'
        'h_bucket{a="y",le="1.0"} 5.0\nh_bucket{a="y",le="+Inf"} 5.0\n'
    )
    assert histogram_buckets(parse_exposition(text), "h") == [(1.0, 7.0), (INF, 8.0)]


def test_bucket_without_le_is_named():
    text = 'h_bucket{a="x"} 2.0\n'
    with pytest.raises(ExpositionError, match=r"h_bucket\{'a': 'x'\} has no numeric 'le' label \(got None\)"):
        histogram_buckets(parse_exposition(text), "h")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ok 1\nbroken{ 2\n", r"line 2: 'broken\{ 2'"),
        ("# HELP x y\nx notanumber\n", r"line 2: 'x notanumber'"),
    ],
)
def test_parse_error_names_the_line(text, message):
    with pytest.raises(ExpositionError, match=message):
        parse_exposition(text)


def test_parse_special_values():
    samples = parse_exposition("a NaN\nb +Inf\nc -Inf\nd 1.5e+06\n")
    assert [s.name for s in samples] == ["a", "b", "c", "d"]
    assert math.isnan(samples[0].value)
    assert [s.value for s in samples[1:]] == [INF, -INF, 1.5e6]
