"""The bridge's self-metrics, named after statsd_exporter's (``statsd_exporter_`` -> ``statsd_bridge_``).

From statsd_exporter: ``udp_packets_total``, ``lines_total``, ``samples_total``,
``sample_errors_total{reason}``, ``tags_total``, ``tag_errors_total``, ``events_total{type}``,
``events_unmapped_total``, ``events_actions_total{action}``, ``events_conflict_total{type}``,
``events_error_total{reason}``, ``loaded_mappings``. Ours: ``line_errors_total``; the budgets'
``series{kind}``, ``series_limit{kind}``, ``series_dropped_total{kind}`` (``kind`` ``mapped``,
``unmapped``, and for drops ``rule``), per mapping rule that maps ``rule_series{rule,metric}`` and
``rule_series_dropped_total{rule,metric,kind}`` (``rule``: its 0-based position in the mapping
file, ``metric``: its ``name:`` as written), ``rule_series_limit``; ``internal_errors_total``,
``udp_receive_buffer_bytes`` and, on Linux, ``udp_kernel_drops_total`` and
``udp_receive_queue_bytes`` (from ``/proc/net/udp``). The budgets: ``docs/adr/0010-bridge-series-budgets.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from airflow_export.bridge.line import SAMPLE_ERROR_REASONS

if TYPE_CHECKING:
    from airflow_export.bridge.exporter import Exporter

__all__ = ["SELF_PREFIX", "exposed_names", "self_metrics"]

#: Prefix of every self-metric; no bridged metric may use it.
SELF_PREFIX = "statsd_bridge_"


def exposed_names(collector: Collector) -> set[str]:
    """Every name a collector exposes (family names, sample names, a counter's ``_total``).

    :param collector: e.g. prometheus-client's ``ProcessCollector``.
    :returns: names no bridged family may use.
    """
    names: set[str] = set()
    for metric in collector.collect():
        names.add(metric.name)
        names.update(sample.name for sample in metric.samples)
        if metric.type == "counter":
            names.add(metric.name + "_total")
    return names


def self_metrics(
    exporter: Exporter, internal_errors: int, receive_buffer: int, kernel: tuple[int, int] | None
) -> list[Metric]:
    """The bridge's own counters and gauges as metric families (names prefixed ``statsd_bridge_``).

    Call with ``exporter.lock`` held.

    :param exporter: whose counters, series and parser to read.
    :param internal_errors: datagrams whose handling raised (the listener's count).
    :param receive_buffer: ``SO_RCVBUF`` of the StatsD socket in bytes (0 before it is bound).
    :param kernel: ``(drops, queued bytes)`` from :func:`~.listener.kernel_udp_stats`, or ``None``.
    :returns: prometheus-client :class:`Metric` objects.
    """
    parser = exporter.parser
    out: list[Metric] = []

    def counter(name: str, help_text: str, value: float, labels: dict[str, str] | None = None) -> Metric:
        metric = Metric(SELF_PREFIX + name, help_text, "counter")
        metric.add_sample(SELF_PREFIX + name + "_total", labels or {}, value)
        out.append(metric)
        return metric

    def counter_vec(name: str, help_text: str, label: str, values: dict[str, int]) -> None:
        metric = Metric(SELF_PREFIX + name, help_text, "counter")
        for label_value, value in values.items():
            metric.add_sample(SELF_PREFIX + name + "_total", {label: label_value}, value)
        out.append(metric)

    def gauge_vec(name: str, help_text: str, label: str, values: dict[str, int]) -> None:
        metric = Metric(SELF_PREFIX + name, help_text, "gauge")
        for label_value, value in values.items():
            metric.add_sample(SELF_PREFIX + name, {label: label_value}, value)
        out.append(metric)

    def gauge(name: str, help_text: str, value: float) -> None:
        metric = Metric(SELF_PREFIX + name, help_text, "gauge")
        metric.add_sample(SELF_PREFIX + name, {}, value)
        out.append(metric)

    counter("udp_packets", "UDP packets received.", exporter.udp_packets)
    counter(
        "lines", "StatsD lines received (every newline-separated part of a packet, empty ones too).", exporter.lines
    )
    counter("samples", "StatsD samples received (a line may hold several).", parser.samples)
    counter_vec(
        "sample_errors",
        "Samples rejected while parsing, by reason.",
        "reason",
        {reason: parser.sample_errors.get(reason, 0) for reason in SAMPLE_ERROR_REASONS},
    )
    counter("line_errors", "Lines with at least one rejected sample.", parser.line_errors)
    counter("tags", "Samples that carried tags.", parser.tags)
    counter("tag_errors", "Malformed tags (skipped).", parser.tag_errors)
    counter_vec("events", "Samples applied to a series, by StatsD kind.", "type", exporter.events)
    counter("events_unmapped", "Samples no mapping matched (name sanitised).", exporter.events_unmapped)
    counter_vec("events_actions", "Samples that matched a mapping, by its action.", "action", exporter.events_actions)
    counter_vec(
        "events_conflict",
        "Samples refused because their name belongs to a metric of another type.",
        "type",
        exporter.events_conflict,
    )
    counter_vec("events_error", "Samples refused after parsing, by reason.", "reason", exporter.events_error)
    counter_vec(
        "series_dropped",
        "Samples dropped because they would create a series beyond a budget, by budget "
        "(rule: their mapping rule holds --max-series-per-rule series; mapped: all rules together hold "
        "--max-mapped-series; unmapped: default naming, --max-unmapped-series).",
        "kind",
        exporter.series_dropped,
    )
    rule_series = Metric(SELF_PREFIX + "rule_series", "Bridged series created by each mapping rule.", "gauge")
    rule_dropped = Metric(
        SELF_PREFIX + "rule_series_dropped",
        "Samples of each mapping rule dropped because they would create a series beyond a budget "
        "(rule: the rule's own --max-series-per-rule; mapped: --max-mapped-series).",
        "counter",
    )
    rule_counts = exporter.series.rule_counts
    for index, rule in exporter.map_rules.items():
        labels = {"rule": str(index), "metric": rule.name}
        rule_series.add_sample(SELF_PREFIX + "rule_series", labels, rule_counts.get(index, 0))
        for kind, value in exporter.rule_series_dropped[index].items():
            rule_dropped.add_sample(SELF_PREFIX + "rule_series_dropped_total", {**labels, "kind": kind}, value)
    out.append(rule_series)
    out.append(rule_dropped)
    counter("internal_errors", "Packets whose handling raised an unexpected error.", internal_errors)
    gauge_vec("series", "Bridged series currently held, by budget (mapped, unmapped).", "kind", exporter.series.counts)
    gauge_vec(
        "series_limit",
        "Most bridged series held, by budget (--max-mapped-series, --max-unmapped-series).",
        "kind",
        exporter.series.limits,
    )
    per_rule = exporter.series.max_per_rule
    if per_rule is not None:
        gauge("rule_series_limit", "Most bridged series one mapping rule may create (--max-series-per-rule).", per_rule)
    gauge("loaded_mappings", "Mappings loaded from the mapping file.", len(exporter.config.mappings))
    gauge("udp_receive_buffer_bytes", "SO_RCVBUF of the StatsD socket as reported by the kernel.", receive_buffer)
    if kernel is not None:
        drops, queued = kernel
        counter("udp_kernel_drops", "Datagrams the kernel dropped for the StatsD socket (buffer full).", drops)
        gauge("udp_receive_queue_bytes", "Bytes waiting in the StatsD socket's receive queue.", queued)
    return out
