"""The Prometheus side of the metric contract: the nine export metric families and their forms.

The contract (project design, "Metric contract") maps Airflow's StatsD names to these
Prometheus names; the bridge, the validation assertions, the alert rules and the Grafana
dashboard all use them. Suffixes follow the Prometheus naming conventions
(https://prometheus.io/docs/practices/naming/): ``_total`` for counters, ``_seconds`` and
``_bytes`` for units, ``_bucket``/``_sum``/``_count`` for the series of a histogram, and our
own ``_high_water`` companion of every gauge (its maximum since the bridge started).
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_export.names import EXPORT_POOL

__all__ = [
    "CONTRACT_METRICS",
    "DEFAULT_POOL",
    "HIGH_WATER_SUFFIX",
    "MetricSpec",
    "POOL_GAUGES",
    "allowed_series_names",
    "family_of",
]

HIGH_WATER_SUFFIX = "_high_water"
DEFAULT_POOL = EXPORT_POOL
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class MetricSpec:
    """One metric family of the contract.

    :param name: the Prometheus name as exposed (counters include ``_total``; histograms are
        the base name, exposed as ``<name>_bucket``/``_sum``/``_count``).
    :param type: ``"counter"``, ``"gauge"`` or ``"histogram"``.
    :param labels: label names of the family, in contract order.
    :param title: a short human title (used in details and the dashboard).
    :param required_labels: label values a sample must carry to count as present (the
        queue-depth family counts only for the export pool).
    """

    name: str
    type: str
    labels: tuple[str, ...]
    title: str
    required_labels: tuple[tuple[str, str], ...] = ()

    def series_names(self) -> tuple[str, ...]:
        """Names of the sample series this family is exposed as.

        :returns: ``(<name>_bucket, <name>_sum, <name>_count)`` for a histogram, ``(<name>,
            <name>_high_water)`` for a gauge, ``(<name>,)`` for a counter.
        """
        if self.type == "histogram":
            return tuple(self.name + suffix for suffix in HISTOGRAM_SUFFIXES)
        if self.type == "gauge":
            return (self.name, self.name + HIGH_WATER_SUFFIX)
        return (self.name,)


#: The nine families of the contract, in contract order (row 1 to 9).
CONTRACT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("airflow_export_requests_total", "counter", ("format", "status"), "export requests"),
    MetricSpec("airflow_export_duration_seconds", "histogram", ("format",), "export duration"),
    MetricSpec("airflow_export_records_total", "counter", ("format",), "records exported"),
    MetricSpec("airflow_export_bytes_total", "counter", ("format",), "bytes exported"),
    MetricSpec("airflow_export_failures_total", "counter", ("reason",), "export failures"),
    MetricSpec("airflow_export_running", "gauge", (), "running exports"),
    MetricSpec(
        "airflow_pool_scheduled_slots",
        "gauge",
        ("pool",),
        "export pool queue depth",
        required_labels=(("pool", DEFAULT_POOL),),
    ),
    MetricSpec("airflow_export_memory_peak_bytes", "gauge", ("format",), "peak memory"),
    MetricSpec("airflow_export_throughput_records_per_second", "gauge", ("format",), "throughput"),
)

#: The other pool gauges Airflow's scheduler sends (contract row 7, "also ...").
POOL_GAUGES: tuple[str, ...] = (
    "airflow_pool_scheduled_slots",
    "airflow_pool_queued_slots",
    "airflow_pool_running_slots",
    "airflow_pool_open_slots",
    "airflow_pool_deferred_slots",
    "airflow_pool_starving_tasks",
)


def allowed_series_names() -> frozenset[str]:
    """Every series name the contract allows in a query or an exposition.

    :returns: the series names of the nine families (with histogram suffixes and gauge
        ``_high_water`` companions) plus every pool gauge and its ``_high_water``.
    """
    names: set[str] = set()
    for spec in CONTRACT_METRICS:
        names.update(spec.series_names())
    for pool_gauge in POOL_GAUGES:
        names.update((pool_gauge, pool_gauge + HIGH_WATER_SUFFIX))
    return frozenset(names)


def family_of(series_name: str) -> MetricSpec | None:
    """The contract family a series name belongs to.

    :param series_name: e.g. ``"airflow_export_duration_seconds_bucket"`` or
        ``"airflow_export_running_high_water"``.
    :returns: the :class:`MetricSpec`, or ``None`` if the name is not one of its series.
    """
    for spec in CONTRACT_METRICS:
        if series_name in spec.series_names():
            return spec
    return None
