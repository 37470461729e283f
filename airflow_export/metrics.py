"""The export metrics, sent through Airflow's StatsD client (:mod:`airflow.sdk.observability.stats`;
why, and why labels travel in the name: ADR 0024). ``deploy/statsd/mapping.yml`` turns the names
into these Prometheus series:

========================================  =========  ==================================================
StatsD name (after the ``airflow.`` prefix) type     Prometheus name (via the mapping)
========================================  =========  ==================================================
``export.requests.<format>.<status>``     counter    ``airflow_export_requests_total{format,status}``
                                                     (status ``rejected``: refused by admission control)
``export.duration.<format>``              timer, ms  ``airflow_export_duration_seconds{format}`` (histogram)
``export.records.<format>``               counter    ``airflow_export_records_total{format}``
``export.bytes.<format>``                 counter    ``airflow_export_bytes_total{format}``
``export.failures.<reason>``              counter    ``airflow_export_failures_total{reason}``
``export.running``                        gauge, ±1  ``airflow_export_running``
``export.memory_peak.<format>``           gauge, B   ``airflow_export_memory_peak_bytes{format}``
``export.throughput.<format>``            gauge      ``airflow_export_throughput_records_per_second{format}``
========================================  =========  ==================================================

Queue depth comes from Airflow's scheduler (``pool.scheduled_slots.<pool>``), not from here.
"""

from __future__ import annotations

import datetime as dt
import resource
import sys

from airflow_export.names import FAILURE_REASONS, STATUSES

__all__ = ["FAILURE_REASONS", "STATUSES"]


def _stats():
    from airflow.sdk.observability import stats

    return stats


def peak_rss_bytes() -> int:
    """Peak resident set size of this process, in bytes (``getrusage``; KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def export_started(fmt: str) -> None:
    """Count one more running export (gauge delta ``+1``).

    Also sends a zero increment for every failure reason and for the ``failed`` status, so
    those series exist (at 0) from the first export on.
    """
    stats = _stats()
    stats.gauge("export.running", 1, delta=True)
    for reason in FAILURE_REASONS:
        stats.incr(f"export.failures.{reason}", 0)
    stats.incr(f"export.requests.{fmt}.failed", 0)


def export_ended() -> None:
    """Count one fewer running export (gauge delta ``-1``); call exactly once per :func:`export_started`."""
    _stats().gauge("export.running", -1, delta=True)


def export_succeeded(fmt: str, records: int, size_bytes: int, duration_seconds: float) -> None:
    """Record a finished export: request, latency, records, bytes, memory and throughput.

    :param fmt: ``"csv"`` or ``"pdf"``.
    :param records: rows written.
    :param size_bytes: bytes written (all files).
    :param duration_seconds: wall time of the export, seconds (sent as a StatsD timer in ms).
    """
    stats = _stats()
    stats.incr(f"export.requests.{fmt}.success")
    stats.timing(f"export.duration.{fmt}", dt.timedelta(seconds=duration_seconds))
    stats.incr(f"export.records.{fmt}", records)
    stats.incr(f"export.bytes.{fmt}", size_bytes)
    stats.gauge(f"export.memory_peak.{fmt}", peak_rss_bytes())
    stats.gauge(f"export.throughput.{fmt}", records / duration_seconds if duration_seconds > 0 else 0.0)


def export_failed(fmt: str, reason: str, duration_seconds: float) -> None:
    """Record a failed export: request with status ``failed``, latency, and the failure reason.

    :param reason: one of :data:`FAILURE_REASONS`.
    :raises ValueError: unknown reason (keeps the label set small and fixed).
    """
    export_refused(fmt, reason)
    _stats().timing(f"export.duration.{fmt}", dt.timedelta(seconds=duration_seconds))


def export_refused(fmt: str | None, reason: str) -> None:
    """Count a failed export request and its reason, without a duration (the pool guard fails
    tasks that never ran).

    :param fmt: ``"csv"``/``"pdf"``, or None when the format is unknown (no request is counted then).
    :param reason: one of :data:`FAILURE_REASONS`.
    :raises ValueError: unknown reason (keeps the label set small and fixed).
    """
    if reason not in FAILURE_REASONS:
        raise ValueError(f"unknown failure reason {reason!r}; expected one of {FAILURE_REASONS}")
    stats = _stats()
    if fmt:
        stats.incr(f"export.requests.{fmt}.failed")
    stats.incr(f"export.failures.{reason}")


def request_rejected(fmt: str) -> None:
    """Count a request that admission control refused (HTTP 429): ``status="rejected"``.

    :param fmt: the requested format, or ``"any"`` when the request names none.
    """
    _stats().incr(f"export.requests.{fmt}.rejected")


def failure_reason(exc: BaseException) -> str:
    """Map an exception raised by an export to one of :data:`FAILURE_REASONS`.

    ``AirflowTaskTimeout`` -> ``timeout``; ``AirflowTaskTerminated``, ``ExportCancelled``,
    ``KeyboardInterrupt``, ``SystemExit`` -> ``cancelled``; ``SourceError`` -> ``source_error``;
    ``TypeError``/``ValueError``/``KeyError`` (bad rows or options), ``ExportPathError`` and
    ``OutputOutsideRootError`` (``output_path`` outside the export root) -> ``invalid_input``;
    anything else (``OSError`` included) -> ``write_error``.
    """
    from airflow_export.destinations.root import ExportPathError
    from airflow_export.sources.base import SourceError
    from airflow_export.writers.frame import OutputOutsideRootError

    name = type(exc).__name__
    if name == "AirflowTaskTimeout":
        return "timeout"
    if name in ("AirflowTaskTerminated", "ExportCancelled") or isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return "cancelled"
    if isinstance(exc, SourceError):
        return "source_error"
    if isinstance(exc, (TypeError, ValueError, KeyError, ExportPathError, OutputOutsideRootError)):
        return "invalid_input"
    return "write_error"
