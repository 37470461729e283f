"""The six assertions: each passes on one exposition and fails on another, boundaries included."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from airflow_export.validation import (
    ASSERTION_NAMES,
    AssertionResult,
    ExpositionError,
    format_table,
    run_assertions,
)
from tests.validation.expositions import DURATION_BUCKETS, HEALTHY_DURATIONS, buckets_family, exposition

NAN = math.nan
POOL = {"pool": "export_pool"}
DURATION = "airflow_export_duration_seconds"


def result_of(name: str, text: str, **thresholds: object) -> AssertionResult:
    results = run_assertions(text, **thresholds)
    assert [r.name for r in results] == list(ASSERTION_NAMES)
    return results[ASSERTION_NAMES.index(name)]


def cumulative(**counts: float) -> dict[str, float]:
    """le strings of the contract buckets -> cumulative count, from ``le_5=18`` style names."""
    out: dict[str, float] = {}
    running = 0.0
    for bound in DURATION_BUCKETS:
        key = "+Inf" if math.isinf(bound) else repr(float(bound))
        running = counts.get("le_" + key.replace(".", "_").replace("+", ""), running)
        out[key] = running
    return out


# P95 exactly 10 s: 20 exports, 18 <= 5 s, 19 <= 10 s, 20 <= 30 s.
# rank = 0.95 * 20 = 19 -> b = le 10: 5 + (10 - 5) * (19 - 18) / (19 - 18) = 10.0
P95_EXACTLY_10 = buckets_family(DURATION, cumulative(le_5_0=18, le_10_0=19, le_30_0=20), {"format": "csv"})
# P95 = 20 s: 18 <= 10 s, 20 <= 30 s: 10 + 20 * (19 - 18) / (20 - 18) = 20.0
P95_20 = buckets_family(DURATION, cumulative(le_10_0=18, le_30_0=20), {"format": "csv"})
# Seven exports all slower than 60 s: P95 in the +Inf bucket -> 60 (a lower bound)
ALL_ABOVE_60 = buckets_family(DURATION, cumulative(le_Inf=7), {"format": "pdf"})
ZERO_OBSERVATIONS = buckets_family(DURATION, cumulative(), {"format": "csv"})
# Counts that fall after le=1 (20 -> 5, a broken sender): made monotonic as Prometheus does,
# every count is 20 from le=1 on; rank 19 -> b = le 1: 0.5 + 0.5 * 19 / 20 = 0.975.
NON_MONOTONIC = buckets_family(DURATION, cumulative(le_1_0=20, le_2_5=5, le_Inf=20), {"format": "csv"})
# 19 fast CSV exports (<= 0.5 s) and one 50 s PDF; summed by le: rank 19 -> b = le 0.5:
# 0.25 + 0.25 * (19 - 0) / (19 - 0) = 0.5 (the PDF alone would give 30 + 30 * 0.95 = 58.5)
MIXED = {(("format", "csv"),): [0.4] * 19, (("format", "pdf"),): [50.0]}

CASES = [
    # id, assertion, exposition, thresholds, passed, value, detail fragment
    ("coverage_all", "metric_coverage", exposition(), {}, True, 9.0, "all nine metric families present"),
    (
        "coverage_no_failures",
        "metric_coverage",
        exposition(failures=None),
        {},
        False,
        8.0,
        "missing: airflow_export_failures_total",
    ),
    (
        "coverage_other_pool_only",
        "metric_coverage",
        exposition(scheduled=[({"pool": "default_pool"}, 3.0)]),
        {},
        False,
        8.0,
        'missing: airflow_pool_scheduled_slots{pool="export_pool"}',
    ),
    (
        "coverage_pool_override",
        "metric_coverage",
        exposition(scheduled=[({"pool": "default_pool"}, 3.0)]),
        {"pool": "default_pool"},
        True,
        9.0,
        "all nine",
    ),
    (
        "coverage_high_water_is_not_the_gauge",
        "metric_coverage",
        exposition(running=None),
        {},
        False,
        8.0,
        "missing: airflow_export_running",
    ),
    (
        "coverage_two_missing",
        "metric_coverage",
        exposition(memory=None, throughput=None),
        {},
        False,
        7.0,
        "missing: airflow_export_memory_peak_bytes, airflow_export_throughput_records_per_second",
    ),
    # 20 exports summed over csv+pdf: rank 19 -> b = le 5: 2.5 + 2.5 * (19 - 18) / (20 - 18)
    (
        "p95_healthy",
        "latency_p95_seconds",
        exposition(),
        {},
        True,
        3.75,
        "P95 over 20 exports (sum by (le) of 2 series)",
    ),
    (
        "p95_exactly_threshold_fails",
        "latency_p95_seconds",
        exposition(durations=P95_EXACTLY_10),
        {},
        False,
        10.0,
        "P95 over 20 exports",
    ),
    (
        "p95_just_above_10_passes_with_10_5",
        "latency_p95_seconds",
        exposition(durations=P95_EXACTLY_10),
        {"latency_p95_seconds": 10.5},
        True,
        10.0,
        "P95",
    ),
    (
        "p95_3_75_with_threshold_3_75_fails",
        "latency_p95_seconds",
        exposition(),
        {"latency_p95_seconds": 3.75},
        False,
        3.75,
        "P95",
    ),
    ("p95_20", "latency_p95_seconds", exposition(durations=P95_20), {}, False, 20.0, "P95"),
    ("p95_summed_by_le", "latency_p95_seconds", exposition(durations=MIXED), {}, True, 0.5, "of 2 series"),
    (
        "p95_in_inf_bucket_fails_even_under_threshold",
        "latency_p95_seconds",
        exposition(durations=ALL_ABOVE_60),
        {"latency_p95_seconds": 100.0},
        False,
        60.0,
        "above the highest finite bucket (le=60)",
    ),
    (
        "p95_non_monotonic_buckets_judged_like_promql",
        "latency_p95_seconds",
        exposition(durations=NON_MONOTONIC),
        {},
        True,
        0.975,
        "bucket counts were not monotonic",
    ),
    (
        "p95_no_histogram",
        "latency_p95_seconds",
        exposition(durations=None),
        {},
        False,
        NAN,
        "no airflow_export_duration_seconds_bucket samples",
    ),
    (
        "p95_zero_observations",
        "latency_p95_seconds",
        exposition(durations=ZERO_OBSERVATIONS),
        {},
        False,
        NAN,
        "P95 undefined over 0 observations",
    ),
    ("success_exactly_0_95", "success_rate", exposition(), {}, True, 0.95, "19 of 20 requests succeeded"),
    (
        "success_0_9",
        "success_rate",
        exposition(
            requests=[({"format": "csv", "status": "success"}, 18.0), ({"format": "csv", "status": "failed"}, 2.0)]
        ),
        {},
        False,
        0.9,
        "18 of 20 requests succeeded",
    ),
    (
        "success_summed_over_formats",
        "success_rate",
        exposition(
            requests=[
                ({"format": "csv", "status": "success"}, 10.0),
                ({"format": "pdf", "status": "success"}, 9.0),
                ({"format": "pdf", "status": "failed"}, 1.0),
            ]
        ),
        {},
        True,
        0.95,
        "19 of 20",
    ),
    (
        "success_only_failures",
        "success_rate",
        exposition(requests=[({"format": "pdf", "status": "failed"}, 3.0)]),
        {},
        False,
        0.0,
        "0 of 3 requests succeeded",
    ),
    (
        "success_ignores_rejected_requests",
        "success_rate",
        exposition(
            requests=[
                ({"format": "csv", "status": "success"}, 19.0),
                ({"format": "csv", "status": "failed"}, 1.0),
                ({"format": "any", "status": "rejected"}, 80.0),
            ]
        ),
        {},
        True,
        0.95,
        "19 of 20 requests succeeded (80 refused with 429, not run)",
    ),
    ("success_threshold_override", "success_rate", exposition(), {"success_rate": 0.96}, False, 0.95, "19 of 20"),
    ("success_no_requests", "success_rate", exposition(requests=None), {}, False, NAN, "no export requests counted"),
    (
        "success_zero_requests",
        "success_rate",
        exposition(requests=[({"format": "csv", "status": "success"}, 0.0)]),
        {},
        False,
        NAN,
        "no export requests counted",
    ),
    (
        "concurrency_5_passes",
        "max_concurrency",
        exposition(running_high_water=5.0),
        {},
        True,
        5.0,
        "at most 5 running exports since the bridge started, now 0",
    ),
    (
        "concurrency_6_fails",
        "max_concurrency",
        exposition(running_high_water=6.0),
        {},
        False,
        6.0,
        "at most 6 running exports",
    ),
    (
        "concurrency_missing_high_water",
        "max_concurrency",
        exposition(running_high_water=None),
        {},
        False,
        NAN,
        "no airflow_export_running_high_water series",
    ),
    (
        "concurrency_override",
        "max_concurrency",
        exposition(running_high_water=6.0),
        {"max_concurrency": 6},
        True,
        6.0,
        "at most 6",
    ),
    (
        "queue_100_passes",
        "max_queue_depth",
        exposition(scheduled_high_water=100.0),
        {},
        True,
        100.0,
        "at most 100 tasks waiting for export_pool",
    ),
    (
        "queue_101_fails",
        "max_queue_depth",
        exposition(scheduled_high_water=101.0),
        {},
        False,
        101.0,
        "at most 101 tasks waiting for export_pool",
    ),
    (
        "queue_missing_high_water",
        "max_queue_depth",
        exposition(scheduled_high_water=None),
        {},
        False,
        NAN,
        'no airflow_pool_scheduled_slots_high_water{pool="export_pool"} series',
    ),
    (
        "queue_other_pool_only",
        "max_queue_depth",
        exposition(scheduled_high_water=[({"pool": "default_pool"}, 3.0)]),
        {},
        False,
        NAN,
        "no airflow_pool_scheduled_slots_high_water",
    ),
    (
        "queue_pool_override",
        "max_queue_depth",
        exposition(scheduled_high_water=[({"pool": "default_pool"}, 250.0), (POOL, 3.0)]),
        {"pool": "default_pool"},
        False,
        250.0,
        "tasks waiting for default_pool",
    ),
    ("bytes_healthy", "bytes_exported", exposition(), {}, True, 41234567.0, "formats: csv"),
    ("bytes_zero", "bytes_exported", exposition(bytes_=0.0), {}, False, 0.0, "formats: csv"),
    (
        "bytes_summed",
        "bytes_exported",
        exposition(bytes_=[({"format": "csv"}, 0.0), ({"format": "pdf"}, 10.0)]),
        {},
        True,
        10.0,
        "formats: csv, pdf",
    ),
    (
        "bytes_missing",
        "bytes_exported",
        exposition(bytes_=None),
        {},
        False,
        NAN,
        "no airflow_export_bytes_total samples",
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "thresholds", "passed", "value", "detail"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_assertion(name, text, thresholds, passed, value, detail):
    result = result_of(name, text, **thresholds)
    assert result.passed is passed
    assert result.value == pytest.approx(value, rel=1e-12, nan_ok=True)
    assert detail in result.detail


def test_current_gauge_is_not_judged():
    # Five exports ran at once during the batch; the scrape after it reads the gauge at 0.
    text = exposition(running=0.0, running_high_water=None)
    assert result_of("max_concurrency", text).passed is False
    # ...and a current gauge over the limit with a high water under it cannot happen, but the
    # assertion would still read the high water only.
    assert result_of("max_concurrency", exposition(running=9.0, running_high_water=2.0)).value == 2.0


def test_default_thresholds():
    results = run_assertions(exposition())
    assert [(r.name, r.threshold, r.op) for r in results] == [
        ("metric_coverage", 9.0, "=="),
        ("latency_p95_seconds", 10.0, "<"),
        ("success_rate", 0.95, ">="),
        ("max_concurrency", 5.0, "<="),
        ("max_queue_depth", 100.0, "<="),
        ("bytes_exported", 0.0, ">"),
    ]
    assert all(r.passed for r in results)


def test_unknown_threshold_is_a_type_error_naming_it():
    with pytest.raises(
        TypeError,
        match=r"unknown threshold 'latency_p99_seconds'; known: "
        r"latency_p95_seconds, success_rate",
    ):
        run_assertions(exposition(), latency_p99_seconds=3.0)


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("success_rate", 1.5, r"'success_rate' must be in \[0, 1\], got 1.5"),
        ("max_concurrency", "five", r"'max_concurrency' must be a number, got 'five'"),
        ("latency_p95_seconds", math.inf, r"'latency_p95_seconds' must be finite, got inf"),
        ("max_queue_depth", True, r"'max_queue_depth' must be a number, got True"),
        ("pool", "", r"'pool' must be a non-empty string, got ''"),
    ],
)
def test_bad_threshold_value(keyword, value, message):
    with pytest.raises(ValueError, match=message):
        run_assertions(exposition(), **{keyword: value})


def test_unparseable_exposition_names_the_line():
    text = exposition() + "airflow_export_running{oops 3\n"
    line_number = text.count("\n")
    with pytest.raises(ExpositionError, match=rf"line {line_number}: 'airflow_export_running{{oops 3'"):
        run_assertions(text)


def test_registry_exposition_gives_the_same_results_as_the_helper():
    """generate_latest of a real prometheus-client registry (with its _created series) reads
    the same as the hand-built healthy exposition."""
    registry = CollectorRegistry()
    requests = Counter("airflow_export_requests_total", "Export requests", ["format", "status"], registry=registry)
    requests.labels("csv", "success").inc(19)
    requests.labels("pdf", "failed").inc(1)
    duration = Histogram(
        "airflow_export_duration_seconds",
        "Export duration",
        ["format"],
        buckets=DURATION_BUCKETS[:-1],
        registry=registry,
    )
    for label_items, values in HEALTHY_DURATIONS.items():
        for value in values:
            duration.labels(**dict(label_items)).observe(value)

    def counter(name: str, label: str, value: str, amount: float) -> None:
        Counter(name, name, [label], registry=registry).labels(value).inc(amount)

    def gauge(name: str, labels: dict[str, str], value: float) -> None:
        metric = Gauge(name, name, list(labels), registry=registry)
        (metric.labels(**labels) if labels else metric).set(value)

    counter("airflow_export_records_total", "format", "csv", 380000)
    counter("airflow_export_bytes_total", "format", "csv", 41234567)
    counter("airflow_export_failures_total", "reason", "write_error", 1)
    gauge("airflow_export_running", {}, 0)
    gauge("airflow_export_running_high_water", {}, 4)
    gauge("airflow_pool_scheduled_slots", {"pool": "export_pool"}, 0)
    gauge("airflow_pool_scheduled_slots_high_water", {"pool": "export_pool"}, 15)
    memory = Gauge("airflow_export_memory_peak_bytes", "Memory", ["format"], registry=registry)
    memory.labels("csv").set(52428800)
    memory.labels("pdf").set(134217728)
    throughput = Gauge("airflow_export_throughput_records_per_second", "Throughput", ["format"], registry=registry)
    throughput.labels("csv").set(182000)
    throughput.labels("pdf").set(2250)

    from_registry = run_assertions(generate_latest(registry).decode())
    from_helper = run_assertions(exposition())
    assert from_registry == from_helper
    assert [r.value for r in from_registry] == [9.0, 3.75, 0.95, 4.0, 15.0, 41234567.0]


def test_format_table_exact():
    table = format_table(run_assertions(exposition(running_high_water=6.0, bytes_=None)))
    assert table.splitlines() == [
        "assertion            result  value  threshold  detail",
        "-------------------  ------  -----  ---------  " + "-" * 72,
        "metric_coverage      FAIL    8      == 9       missing: airflow_export_bytes_total",
        "latency_p95_seconds  PASS    3.75   < 10       P95 over 20 exports (sum by (le) of 2 series)",
        "success_rate         PASS    0.95   >= 0.95    19 of 20 requests succeeded",
        "max_concurrency      FAIL    6      <= 5       at most 6 running exports since the bridge started, now 0",
        "max_queue_depth      PASS    15     <= 100     "
        "at most 15 tasks waiting for export_pool since the bridge started, now 0",
        "bytes_exported       FAIL    NaN    > 0        no airflow_export_bytes_total samples",
        "3 of 6 assertions passed",
    ]


def test_format_table_columns_parse_back():
    table = format_table(run_assertions(exposition()))
    header, rule, *rows, summary = table.splitlines()
    starts = [i for i, ch in enumerate(rule) if ch == "-" and (i == 0 or rule[i - 1] == " ")]
    parsed = [[row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)] for row in rows]
    assert [p[:4] for p in parsed] == [
        ["metric_coverage", "PASS", "9", "== 9"],
        ["latency_p95_seconds", "PASS", "3.75", "< 10"],
        ["success_rate", "PASS", "0.95", ">= 0.95"],
        ["max_concurrency", "PASS", "4", "<= 5"],
        ["max_queue_depth", "PASS", "15", "<= 100"],
        ["bytes_exported", "PASS", "41234567", "> 0"],
    ]
    assert summary == "6 of 6 assertions passed"


def test_as_dict():
    result = run_assertions(exposition())[2]
    assert result.as_dict() == {
        "name": "success_rate",
        "passed": True,
        "value": 0.95,
        "threshold": 0.95,
        "op": ">=",
        "detail": "19 of 20 requests succeeded",
    }
