"""The bridge's self-metrics, named after statsd_exporter's (``statsd_exporter_`` -> ``statsd_bridge_``).

From statsd_exporter: ``udp_packets_total``, ``lines_total``, ``samples_total``,
``sample_errors_total{reason}``, ``tags_total``, ``tag_errors_total``, ``events_total{type}``,
``events_unmapped_total``, ``events_actions_total{action}``, ``events_conflict_total{type}``,
``events_error_total{reason}``, ``loaded_mappings``. Ours: ``line_errors_total``;
``series{kind}`` and ``series_limit{kind}`` with ``kind="mapped"`` (series of samples a mapping
rule matched, all rules together; ``--max-mapped-series``) or ``kind="unmapped"``
(statsd_exporter's default naming; ``--max-unmapped-series``); ``series_dropped_total{kind}``
with those two kinds plus ``kind="rule"`` (the sample's mapping rule already holds
``--max-series-per-rule`` series; checked first, so each drop is counted under exactly one kind);
per mapping rule that maps, ``rule_series{rule,metric}`` and
``rule_series_dropped_total{rule,metric,kind}`` (``kind`` ``rule`` or ``mapped``; summed over rules
they equal ``series_dropped_total`` of that kind) and the unlabelled ``rule_series_limit``. ``rule``
is the rule's 0-based position in the mapping file, ``metric`` its ``name:`` as written (e.g.
``airflow_pool_${1}``), so their number is fixed by the mapping file. Then ``internal_errors_total``,
``udp_receive_buffer_bytes`` and, on Linux, ``udp_kernel_drops_total`` and
``udp_receive_queue_bytes`` (from ``/proc/net/udp``).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import Metric

from airflow_export.bridge.line_parser import SAMPLE_ERROR_REASONS

if TYPE_CHECKING:
    from airflow_export.bridge.server import Bridge

__all__ = ["SELF_PREFIX", "kernel_udp_stats", "self_metrics"]

#: Prefix of every self-metric; no bridged metric may use it.
SELF_PREFIX = "statsd_bridge_"


def self_metrics(bridge: Bridge, kernel: tuple[int, int] | None) -> list[Metric]:
    """The bridge's own counters and gauges as metric families (names prefixed ``statsd_bridge_``).

    Call with the bridge's lock held.

    :param bridge: the bridge whose counters to read.
    :param kernel: ``(drops, queued bytes)`` from :func:`kernel_udp_stats`, or ``None``.
    :returns: prometheus-client :class:`Metric` objects.
    """
    parser = bridge.parser
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

    counter("udp_packets", "UDP packets received.", bridge.udp_packets)
    counter("lines", "StatsD lines received (every newline-separated part of a packet, empty ones too).", bridge.lines)
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
    counter_vec("events", "Samples applied to a series, by StatsD kind.", "type", bridge.events)
    counter("events_unmapped", "Samples no mapping matched (name sanitised).", bridge.events_unmapped)
    counter_vec("events_actions", "Samples that matched a mapping, by its action.", "action", bridge.events_actions)
    counter_vec(
        "events_conflict",
        "Samples refused because their name belongs to a metric of another type.",
        "type",
        bridge.events_conflict,
    )
    counter_vec("events_error", "Samples refused after parsing, by reason.", "reason", bridge.events_error)
    counter_vec(
        "series_dropped",
        "Samples dropped because they would create a series beyond a budget, by budget "
        "(rule: their mapping rule holds --max-series-per-rule series; mapped: all rules together hold "
        "--max-mapped-series; unmapped: default naming, --max-unmapped-series).",
        "kind",
        bridge.series_dropped,
    )
    rule_series = Metric(SELF_PREFIX + "rule_series", "Bridged series created by each mapping rule.", "gauge")
    rule_dropped = Metric(
        SELF_PREFIX + "rule_series_dropped",
        "Samples of each mapping rule dropped because they would create a series beyond a budget "
        "(rule: the rule's own --max-series-per-rule; mapped: --max-mapped-series).",
        "counter",
    )
    rule_counts = bridge.series.rule_counts
    for index, rule in bridge.map_rules.items():
        labels = {"rule": str(index), "metric": rule.name}
        rule_series.add_sample(SELF_PREFIX + "rule_series", labels, rule_counts.get(index, 0))
        for kind, value in bridge.rule_series_dropped[index].items():
            rule_dropped.add_sample(SELF_PREFIX + "rule_series_dropped_total", {**labels, "kind": kind}, value)
    out.append(rule_series)
    out.append(rule_dropped)
    counter("internal_errors", "Packets whose handling raised an unexpected error.", bridge.internal_errors)
    gauge_vec("series", "Bridged series currently held, by budget (mapped, unmapped).", "kind", bridge.series.counts)
    gauge_vec(
        "series_limit",
        "Most bridged series held, by budget (--max-mapped-series, --max-unmapped-series).",
        "kind",
        bridge.series.limits,
    )
    per_rule = bridge.series.max_per_rule
    if per_rule is not None:
        gauge("rule_series_limit", "Most bridged series one mapping rule may create (--max-series-per-rule).", per_rule)
    gauge("loaded_mappings", "Mappings loaded from the mapping file.", len(bridge.config.mappings))
    gauge("udp_receive_buffer_bytes", "SO_RCVBUF of the StatsD socket as reported by the kernel.", bridge.receive_buffer_bytes)
    if kernel is not None:
        drops, queued = kernel
        counter("udp_kernel_drops", "Datagrams the kernel dropped for the StatsD socket (buffer full).", drops)
        gauge("udp_receive_queue_bytes", "Bytes waiting in the StatsD socket's receive queue.", queued)
    return out


def kernel_udp_stats(sock: socket.socket | None) -> tuple[int, int] | None:
    """``(drops, rx_queue bytes)`` of a UDP socket from ``/proc/net/udp{,6}`` (Linux), or ``None``.

    :param sock: the socket (matched by inode), or ``None``.
    """
    if sock is None:
        return None
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except OSError:
        return None
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii") as handle:
                next(handle, None)
                for row in handle:
                    fields = row.split()
                    if len(fields) >= 13 and fields[9] == inode:
                        queued = int(fields[4].split(":")[1], 16)
                        return int(fields[12]), queued
        except (OSError, ValueError, IndexError):
            continue
    return None
