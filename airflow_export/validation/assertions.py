"""The six assertions the validation DAG runs on a scrape of the bridge's ``/metrics``.

Each assertion reads the samples of one exposition (a single scrape) and gives an
:class:`AssertionResult`. The names, their order and the default thresholds are part of the
project's metric contract:

======================  ==========================================================  =========
name                    value                                                       passes if
======================  ==========================================================  =========
``metric_coverage``     number of the nine contract families with a sample          ``== 9``
``latency_p95_seconds`` ``histogram_quantile(0.95, sum by (le) (duration_bucket))`` ``< 10``
``success_rate``        ``success / (requests_total - rejected)`` (429s never ran)  ``>= 0.95``
``max_concurrency``     ``max(airflow_export_running_high_water)``                  ``<= 5``
``max_queue_depth``     ``airflow_pool_scheduled_slots_high_water{pool=...}``       ``<= 100``
``bytes_exported``      ``sum(airflow_export_bytes_total)``                         ``> 0``
======================  ==========================================================  =========

Missing data never passes: the value is NaN and ``detail`` says what is missing.
Concurrency and queue depth are judged on the ``_high_water`` series (maximum since the
bridge started; why: ``docs/adr/0011-own-bridge-statsd-exporter-format.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from airflow_export.validation.contract import CONTRACT_METRICS, DEFAULT_POOL, HIGH_WATER_SUFFIX
from airflow_export.validation.exposition import (
    Sample,
    histogram_buckets,
    parse_exposition,
    sample_values,
    samples_named,
    sum_values,
)
from airflow_export.validation.quantile import _ensure_monotonic, histogram_quantile

__all__ = [
    "ASSERTION_NAMES",
    "AssertionResult",
    "Thresholds",
    "evaluate",
    "format_table",
    "format_value",
    "run_assertions",
]

ASSERTION_NAMES: tuple[str, ...] = (
    "metric_coverage",
    "latency_p95_seconds",
    "success_rate",
    "max_concurrency",
    "max_queue_depth",
    "bytes_exported",
)

DURATION_HISTOGRAM = "airflow_export_duration_seconds"
REQUESTS_TOTAL = "airflow_export_requests_total"
BYTES_TOTAL = "airflow_export_bytes_total"
RUNNING = "airflow_export_running"
SCHEDULED_SLOTS = "airflow_pool_scheduled_slots"
LATENCY_QUANTILE = 0.95


@dataclass(frozen=True)
class AssertionResult:
    """The outcome of one assertion.

    :param name: stable assertion name, one of :data:`ASSERTION_NAMES`.
    :param passed: whether ``value <op> threshold`` holds (never for a NaN value).
    :param value: the measured value (count, seconds, ratio, exports, slots or bytes);
        NaN when the exposition lacks the data.
    :param threshold: the bound it is compared with.
    :param detail: one line for a human: what was measured, or what is missing.
    :param op: the comparison that must hold: ``"=="``, ``"<"``, ``">="``, ``"<="``, ``">"``.
    """

    name: str
    passed: bool
    value: float
    threshold: float
    detail: str = ""
    op: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain dict of the fields (for XCom or JSON; a NaN value stays a float NaN)."""
        return {
            "name": self.name,
            "passed": self.passed,
            "value": self.value,
            "threshold": self.threshold,
            "op": self.op,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Thresholds:
    """Bounds of the six assertions (the keywords of :func:`run_assertions`).

    :param latency_p95_seconds: P95 export duration must be strictly below this, seconds.
    :param success_rate: ratio of successful requests must be at least this, in [0, 1].
    :param max_concurrency: the running-exports high water must be at most this.
    :param max_queue_depth: the pool's scheduled-slots high water must be at most this.
    :param bytes_exported: total bytes exported must be strictly above this.
    :param pool: the Airflow pool whose ``pool`` label the queue-depth series carry.
    :raises ValueError: a bound is not a finite number, the success rate is outside
        [0, 1], or the pool is not a non-empty string (the message names the setting).
    """

    latency_p95_seconds: float = 10.0
    success_rate: float = 0.95
    max_concurrency: float = 5
    max_queue_depth: float = 100
    bytes_exported: float = 0
    pool: str = DEFAULT_POOL

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "pool":
                if not isinstance(value, str) or not value:
                    raise ValueError(f"threshold 'pool' must be a non-empty string, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"threshold {field.name!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"threshold {field.name!r} must be finite, got {value!r}")
        if not 0 <= self.success_rate <= 1:
            raise ValueError(f"threshold 'success_rate' must be in [0, 1], got {self.success_rate!r}")

    @classmethod
    def with_overrides(cls, **overrides: Any) -> Thresholds:
        """The defaults with some thresholds replaced.

        :raises TypeError: an unknown keyword (the message names it and lists the known ones).
        :raises ValueError: see the class.
        """
        known = [field.name for field in fields(cls)]
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise TypeError(f"unknown threshold {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
        return replace(cls(), **overrides)


def run_assertions(exposition_text: str, **thresholds: object) -> list[AssertionResult]:
    """Run the six assertions on one scrape of ``/metrics``.

    :param exposition_text: Prometheus text exposition (format 0.0.4), as the bridge serves it.
    :param thresholds: overrides of :class:`Thresholds`: ``latency_p95_seconds``,
        ``success_rate``, ``max_concurrency``, ``max_queue_depth``, ``bytes_exported``,
        ``pool``.
    :returns: six results in the order of :data:`ASSERTION_NAMES`.
    :raises TypeError: an unknown threshold keyword (named in the message).
    :raises ValueError: a bad threshold value; :class:`~.exposition.ExpositionError` (a
        ``ValueError``) if the text does not parse.
    """
    limits = Thresholds.with_overrides(**thresholds)
    return evaluate(parse_exposition(exposition_text), limits)


def evaluate(samples: Sequence[Sample], limits: Thresholds | None = None) -> list[AssertionResult]:
    """Run the six assertions on already parsed samples.

    :param samples: from :func:`~.exposition.parse_exposition`.
    :param limits: the thresholds (defaults if ``None``).
    :returns: six results in the order of :data:`ASSERTION_NAMES`.
    """
    limits = limits or Thresholds()
    return [
        _metric_coverage(samples, limits),
        _latency_p95(samples, limits),
        _success_rate(samples, limits),
        _max_concurrency(samples, limits),
        _max_queue_depth(samples, limits),
        _bytes_exported(samples, limits),
    ]


def _result(name: str, passed: bool, value: float, threshold: float, op: str, detail: str) -> AssertionResult:
    return AssertionResult(name=name, passed=passed, value=value, threshold=threshold, detail=detail, op=op)


def _metric_coverage(samples: Sequence[Sample], limits: Thresholds) -> AssertionResult:
    missing: list[str] = []
    for spec in CONTRACT_METRICS:
        required = {label: limits.pool if label == "pool" else value for label, value in spec.required_labels}
        # A gauge counts through the gauge itself, not its _high_water companion.
        names = spec.series_names()[:1] if spec.type == "gauge" else spec.series_names()
        if not any(samples_named(samples, name, required) for name in names):
            selector = ",".join(f'{label}="{value}"' for label, value in required.items())
            missing.append(f"{spec.name}{{{selector}}}" if selector else spec.name)
    present = len(CONTRACT_METRICS) - len(missing)
    detail = f"missing: {', '.join(missing)}" if missing else "all nine metric families present"
    return _result("metric_coverage", not missing, float(present), float(len(CONTRACT_METRICS)), "==", detail)


def _latency_p95(samples: Sequence[Sample], limits: Thresholds) -> AssertionResult:
    threshold = float(limits.latency_p95_seconds)

    def result(passed: bool, value: float, detail: str) -> AssertionResult:
        return _result("latency_p95_seconds", passed, value, threshold, "<", detail)

    buckets = histogram_buckets(samples, DURATION_HISTOGRAM)
    if not buckets:
        return result(False, math.nan, f"no {DURATION_HISTOGRAM}_bucket samples: no export timed")
    if not math.isinf(buckets[-1][0]):
        return result(False, math.nan, f'{DURATION_HISTOGRAM}_bucket has no le="+Inf" bucket')
    p95 = histogram_quantile(LATENCY_QUANTILE, buckets)
    # Judge the +Inf case on the counts histogram_quantile used: made monotonic as Prometheus does.
    envelope = [[le, count] for le, count in buckets]
    forced = _ensure_monotonic(envelope)
    observations = envelope[-1][1]
    if math.isnan(p95):
        return result(False, p95, f"P95 undefined over {format_value(observations)} observations")
    series = len({_labels_key(s, drop="le") for s in samples_named(samples, DURATION_HISTOGRAM + "_bucket")})
    detail = f"P95 over {format_value(observations)} exports (sum by (le) of {series} series)"
    if forced:
        detail += "; bucket counts were not monotonic (raised to their running maximum, as Prometheus does)"
    finite = [pair for pair in envelope if not math.isinf(pair[0])]
    if finite and finite[-1][1] < LATENCY_QUANTILE * observations:
        # The quantile is in the +Inf bucket: PromQL returns the highest finite bound, a
        # lower bound of the truth, so the assertion cannot pass on it.
        detail += f"; above the highest finite bucket (le={format_value(finite[-1][0])})"
        return result(False, p95, detail)
    return result(p95 < threshold, p95, detail)


def _success_rate(samples: Sequence[Sample], limits: Thresholds) -> AssertionResult:
    threshold = float(limits.success_rate)
    rejected = sum_values(samples, REQUESTS_TOTAL, {"status": "rejected"}) or 0.0
    total = (sum_values(samples, REQUESTS_TOTAL) or 0.0) - rejected  # refused with 429: never run
    if not total:
        return _result(
            "success_rate", False, math.nan, threshold, ">=", f"no export requests counted in {REQUESTS_TOTAL}"
        )
    success = sum_values(samples, REQUESTS_TOTAL, {"status": "success"}) or 0.0
    rate = success / total
    detail = f"{format_value(success)} of {format_value(total)} requests succeeded"
    if rejected:
        detail += f" ({format_value(rejected)} refused with 429, not run)"
    return _result("success_rate", rate >= threshold, rate, threshold, ">=", detail)


def _max_concurrency(samples: Sequence[Sample], limits: Thresholds) -> AssertionResult:
    return _high_water(samples, "max_concurrency", RUNNING, {}, float(limits.max_concurrency), "running exports")


def _max_queue_depth(samples: Sequence[Sample], limits: Thresholds) -> AssertionResult:
    return _high_water(
        samples,
        "max_queue_depth",
        SCHEDULED_SLOTS,
        {"pool": limits.pool},
        float(limits.max_queue_depth),
        f"tasks waiting for {limits.pool}",
    )


def _high_water(
    samples: Sequence[Sample], name: str, gauge: str, labels: dict[str, str], threshold: float, what: str
) -> AssertionResult:
    selector = ",".join(f'{k}="{v}"' for k, v in labels.items())
    series = f"{gauge}{HIGH_WATER_SUFFIX}" + (f"{{{selector}}}" if selector else "")
    peaks = sample_values(samples, gauge + HIGH_WATER_SUFFIX, labels)
    if not peaks:
        return _result(
            name,
            False,
            math.nan,
            threshold,
            "<=",
            f"no {series} series: the high water is needed, the current "
            f"gauge {gauge} read after a batch proves nothing",
        )
    peak = max(peaks)
    current = sample_values(samples, gauge, labels)
    now = f", now {format_value(max(current))}" if current else ""
    detail = f"at most {format_value(peak)} {what} since the bridge started{now}"
    return _result(name, peak <= threshold, peak, threshold, "<=", detail)


def _bytes_exported(samples: Sequence[Sample], limits: Thresholds) -> AssertionResult:
    threshold = float(limits.bytes_exported)
    total = sum_values(samples, BYTES_TOTAL)
    if total is None:
        return _result("bytes_exported", False, math.nan, threshold, ">", f"no {BYTES_TOTAL} samples")
    formats = sorted({s.labels.get("format", "") for s in samples_named(samples, BYTES_TOTAL)})
    detail = f"bytes written, formats: {', '.join(f for f in formats if f) or '-'}"
    return _result("bytes_exported", total > threshold, total, threshold, ">", detail)


def _labels_key(sample: Sample, drop: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in sample.labels.items() if k != drop))


def format_value(value: float) -> str:
    """Render a number for the table: integers without ``.0``, others to 6 significant digits.

    :returns: e.g. ``"9"``, ``"0.95"``, ``"0.952381"``, ``"1.23457e+12"`` (above 1e15 only
        for integers), ``"NaN"``, ``"+Inf"``, ``"-Inf"``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def format_table(results: Sequence[AssertionResult]) -> str:
    """An aligned text table of results, one row each, and a summary line.

    Columns: ``assertion``, ``result`` (``PASS``/``FAIL``), ``value``, ``threshold`` (the
    comparison that must hold, e.g. ``< 10``), ``detail``. Example::

        assertion            result  value  threshold  detail
        -------------------  ------  -----  ---------  ------
        success_rate         PASS    0.95   >= 0.95    19 of 20 requests succeeded
        6 of 6 assertions passed

    :param results: from :func:`run_assertions`.
    :returns: the table, lines joined by ``\\n``, no trailing newline.
    """
    header = ("assertion", "result", "value", "threshold", "detail")
    rows = [
        (r.name, "PASS" if r.passed else "FAIL", format_value(r.value), f"{r.op} {format_value(r.threshold)}", r.detail)
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    passed = sum(r.passed for r in results)
    lines = [
        line(header),
        line(["-" * w for w in widths]),
        *map(line, rows),
        f"{passed} of {len(results)} assertions passed",
    ]
    return "\n".join(lines)
