"""The validated mapping configuration's parts: defaults, one mapping, summary options.

Defaults are statsd_exporter's (``pkg/mapper/mapper_defaults.go``) and client_golang's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["DEFAULT_BUCKETS", "DEFAULT_QUANTILES", "MappingDefaults", "MetricMapping", "SummaryOptions"]

#: client_golang ``prometheus.DefBuckets`` (seconds), statsd_exporter's default histogram buckets.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: statsd_exporter's default summary objectives, ``(quantile, allowed error)``.
DEFAULT_QUANTILES: tuple[tuple[float, float], ...] = ((0.5, 0.05), (0.9, 0.01), (0.99, 0.001))


@dataclass(frozen=True)
class SummaryOptions:
    """Options of a summary (``summary_options``), defaults as client_golang's.

    The bridge computes each quantile exactly over the most recent ``buf_cap`` observations of
    a series (at most :data:`~airflow_export.bridge.series.SUMMARY_WINDOW_LIMIT`) that are
    younger than ``max_age``, instead of client_golang's streaming estimate over ``age_buckets``
    rotating buckets; ``age_buckets`` is accepted for compatibility and ignored.

    :param quantiles: ``(quantile, error)`` pairs, quantile in (0, 1).
    :param max_age: seconds an observation counts toward the quantiles (default 600).
    :param age_buckets: accepted, unused (default 5).
    :param buf_cap: observations kept per series for the quantiles (default 500).
    """

    quantiles: tuple[tuple[float, float], ...] = DEFAULT_QUANTILES
    max_age: float = 600.0
    age_buckets: int = 5
    buf_cap: int = 500


@dataclass
class MappingDefaults:
    """The ``defaults:`` section.

    :param observer_type: ``""`` (summary), ``"histogram"`` or ``"summary"``.
    :param buckets: histogram buckets for mappings without their own.
    :param summary: summary options for mappings without their own.
    :param match_type: ``"glob"`` or ``"regex"``.
    :param glob_disable_ordering: prefer literal over ``*`` instead of file order.
    :param ttl: seconds; accepted, not applied.
    """

    observer_type: str = ""
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    summary: SummaryOptions = field(default_factory=SummaryOptions)
    match_type: str = "glob"
    glob_disable_ordering: bool = False
    ttl: float = 0.0


@dataclass
class MetricMapping:
    """One entry of ``mappings:`` after validation and defaulting.

    :param index: position in the file (0-based), used in messages.
    :param match: the glob or regex.
    :param name: the Prometheus name template (``$n`` allowed).
    :param labels: label name -> value template, in file order.
    :param match_type: ``"glob"`` or ``"regex"``.
    :param match_metric_type: ``""`` (any), ``"counter"``, ``"gauge"`` or ``"observer"``.
    :param action: ``"map"`` or ``"drop"``.
    :param observer_type: ``""`` (default), ``"histogram"`` or ``"summary"``.
    :param buckets: histogram buckets (upper bounds, seconds for timers), or ``None`` for the defaults.
    :param summary: summary options, or ``None`` for the defaults.
    :param help: HELP text, ``""`` for the default.
    :param honor_labels: tag labels win over mapping labels of the same name.
    :param scale: factor applied to every value, or ``None``.
    :param ttl: seconds; accepted, not applied.
    """

    index: int
    match: str
    name: str
    labels: dict[str, str]
    match_type: str = "glob"
    match_metric_type: str = ""
    action: str = "map"
    observer_type: str = ""
    buckets: tuple[float, ...] | None = None
    summary: SummaryOptions | None = None
    help: str = ""
    honor_labels: bool = False
    scale: float | None = None
    ttl: float = 0.0
    regex: re.Pattern[str] | None = field(default=None, repr=False)
    glob_priority: tuple[int, ...] = field(default=(), repr=False)
    capture_count: int = 0
