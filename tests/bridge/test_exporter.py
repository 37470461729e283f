"""Samples to series without sockets: conflicts, budgets, refused events, mapping options."""

from __future__ import annotations

import logging

import pytest

from airflow_export.bridge import Bridge, MappingConfig
from tests.bridge.support import (
    MAPPING_FILE,
    apply,
    send_udp,
    wait_for_packets,
)


def test_type_conflict_is_counted_not_crashing(plain: Bridge) -> None:
    result = apply(plain, b"x:1|c\nx:5|g\nx_total:2|g\nx_high:1|g\nx:2|c")
    assert result.value("x_total") == 3
    assert result.get("x") is None
    assert result.value("statsd_bridge_events_conflict_total", type="gauge") == 2
    assert result.value("x_high") == 1


def test_same_name_with_different_label_sets_is_exposed_like_statsd_exporter(plain: Bridge) -> None:
    result = apply(plain, b"y:1|c|#a:b\ny:2|c\ny:4|c|#c:d")
    assert result.value("y_total", a="b") == 1
    assert result.value("y_total") == 2
    assert result.value("y_total", c="d") == 4
    assert len(result.families["y"].samples) == 3


def test_negative_counter_is_refused_without_creating_a_series(plain: Bridge) -> None:
    result = apply(plain, b"n:-1|c")
    assert result.get("n_total") is None
    assert result.value("statsd_bridge_events_error_total", reason="illegal_negative_counter") == 1
    result = apply(plain, b"n:2|c\nn:-3|c")
    assert result.value("n_total") == 2
    assert result.value("statsd_bridge_events_error_total", reason="illegal_negative_counter") == 2


def test_series_cap_drops_new_series_only(plain: Bridge) -> None:
    capped = Bridge(statsd_port=0, metrics_port=0, max_unmapped_series=3)
    result = apply(capped, b"s1:1|c\ns2:1|g\ns3:1|ms\ns4:1|c\ns5:1|c\ns1:1|c\ns4:1|c")
    assert (result.value("s1_total"), result.value("s2"), result.value("s3_count")) == (2, 1, 1)
    assert result.get("s4_total") is None and result.get("s5_total") is None
    assert result.value("statsd_bridge_series", kind="unmapped") == 3
    assert result.value("statsd_bridge_series", kind="mapped") == 0
    assert result.value("statsd_bridge_series_limit", kind="unmapped") == 3
    assert result.value("statsd_bridge_series_limit", kind="mapped") == 10000
    assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == 3
    assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 0


def test_budgets_are_separate_and_max_series_is_an_alias_of_the_mapped_one() -> None:
    config = MappingConfig.from_yaml(
        """
mappings:
  - match: "m.*"
    name: "mapped_${1}"
"""
    )
    capped = Bridge(statsd_port=0, metrics_port=0, mapping=config, max_series=2, max_unmapped_series=1)
    result = apply(capped, b"m.a:1|c\nm.b:1|c\nm.c:1|c\nu1:1|c\nu2:1|c\nm.a:1|c\nu3:1|c")
    assert (result.value("mapped_a_total"), result.value("mapped_b_total"), result.value("u1_total")) == (2, 1, 1)
    assert result.get("mapped_c_total") is None and result.get("u2_total") is None
    assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 1
    assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == 2
    assert result.value("statsd_bridge_series_limit", kind="mapped") == 2


def test_each_mapping_rule_has_its_own_budget_checked_before_the_mapped_one() -> None:
    config = MappingConfig.from_yaml(
        """
mappings:
  - match: "a.*"
    name: "rule_a"
    labels: {val: "$1"}
  - match: "skip.*"
    name: "skipped"
    action: drop
  - match: "b.*"
    name: "rule_b"
    labels: {val: "$1"}
  - match: "c.*"
    name: "rule_c"
    labels: {val: "$1"}
"""
    )
    capped = Bridge(statsd_port=0, metrics_port=0, mapping=config, max_mapped_series=5, max_series_per_rule=2)
    # a: 2 kept, 2 dropped by its rule; b: 2 kept, 1 dropped by its rule; c: 1 kept, then the mapped budget is full
    result = apply(capped, b"a.1:1|c\na.2:1|c\na.3:1|c\na.4:1|c\nb.1:1|c\nb.2:1|c\nb.3:1|c\nc.1:1|c\nc.2:1|c\na.1:1|c")
    assert result.value("rule_a_total", val="1") == 2 and result.get("rule_a_total", val="3") is None
    assert result.value("rule_c_total", val="1") == 1 and result.get("rule_c_total", val="2") is None
    assert result.value("statsd_bridge_series", kind="mapped") == 5
    assert result.value("statsd_bridge_series_dropped_total", kind="rule") == 3
    assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 1
    assert result.value("statsd_bridge_rule_series_limit") == 2
    rules = {"a": ("0", "rule_a"), "b": ("2", "rule_b"), "c": ("3", "rule_c")}
    expected = {"a": (2, 2, 0), "b": (2, 1, 0), "c": (1, 0, 1)}
    for key, (index, metric) in rules.items():
        series = result.value("statsd_bridge_rule_series", rule=index, metric=metric)
        by_rule = result.value("statsd_bridge_rule_series_dropped_total", rule=index, metric=metric, kind="rule")
        by_mapped = result.value("statsd_bridge_rule_series_dropped_total", rule=index, metric=metric, kind="mapped")
        assert (series, by_rule, by_mapped) == expected[key], key
    # the drop rule creates no series and is not reported
    assert result.get("statsd_bridge_rule_series", rule="1", metric="skipped") is None
    # a rule at its cap is counted as kind="rule" even when the mapped budget is full too
    result = apply(capped, b"a.5:1|c\nc.3:1|c")
    assert result.value("statsd_bridge_series_dropped_total", kind="rule") == 4
    assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 2
    with pytest.raises(ValueError, match="max_per_rule"):
        Bridge(statsd_port=0, metrics_port=0, max_series_per_rule=-1)


def test_unmapped_samples_cannot_use_literal_mapping_names() -> None:
    with Bridge(statsd_port=0, metrics_port=0, mapping=MAPPING_FILE) as bridge:
        # junk squatting the names of mapped families: other type, derived name, or same type and name
        send_udp(
            bridge.statsd_port,
            b"airflow_export_requests_total:1|g\nairflow_export_running:1|c\nairflow_export_duration_seconds_bucket:1|c",
            b"airflow_export_requests_total:5|c|#format:pdf,status:failed",
            b"airflow.export.requests.pdf.failed:1|c\nairflow.export.running:+1|g",
        )
        result = wait_for_packets(bridge.metrics_url, 3)
    assert result.value("airflow_export_requests_total", format="pdf", status="failed") == 1
    assert (result.value("airflow_export_running"), result.value("airflow_export_running_high_water")) == (1, 1)
    assert result.value("statsd_bridge_events_conflict_total", type="counter") == 3
    assert result.value("statsd_bridge_events_conflict_total", type="gauge") == 1
    assert result.value("statsd_bridge_series", kind="unmapped") == 0
    assert result.value("statsd_bridge_series", kind="mapped") == 2


def test_invalid_utf8_line_is_malformed_and_the_rest_applied(plain: Bridge) -> None:
    result = apply(plain, b"ok:1|c\n\xff\xfe:1|c\nok:1|c")
    assert result.value("ok_total") == 2
    assert result.value("statsd_bridge_sample_errors_total", reason="malformed_line") == 1
    assert result.value("statsd_bridge_lines_total") == 3


def test_summary_quantiles_sum_and_count(plain: Bridge) -> None:
    result = apply(plain, "\n".join(f"lat:{v}|h" for v in range(1, 101)).encode())
    assert [result.value("lat", quantile=q) for q in ("0.5", "0.9", "0.99")] == [50, 90, 99]
    assert (result.value("lat_sum"), result.value("lat_count")) == (5050, 100)


def test_sampled_observer_is_observed_1_over_rate_times(plain: Bridge) -> None:
    result = apply(plain, b"obs:2|h|@0.25")
    assert (result.value("obs_count"), result.value("obs_sum")) == (4, 8)
    assert result.value("statsd_bridge_events_total", type="observer") == 4


def test_relative_gauge_starts_from_zero(plain: Bridge) -> None:
    result = apply(plain, b"down:-3|g")
    assert (result.value("down"), result.value("down_high_water")) == (-3, -3)


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (b",a=b:1|c", "empty_metric_name"),
        (b"h.x:1|ms|#quantile:x", "invalid_label"),
        (b"h.y:1|c|#__name:x", "invalid_label"),
    ],
)
def test_refused_events(plain: Bridge, packet: bytes, reason: str) -> None:
    result = apply(plain, packet)
    assert result.value("statsd_bridge_events_error_total", reason=reason) == 1
    assert result.value("statsd_bridge_series", kind="unmapped") == 0


def test_self_metric_names_are_reserved(plain: Bridge) -> None:
    result = apply(plain, b"statsd_bridge_lines:1|c\nprocess_open_fds:1|g")
    assert result.value("statsd_bridge_events_conflict_total", type="counter") == 1
    assert result.value("statsd_bridge_events_conflict_total", type="gauge") == 1
    assert result.value("statsd_bridge_lines_total") == 2


def test_mapping_options_labels_scale_honor_labels_drop_and_histogram_defaults() -> None:
    config = MappingConfig.from_yaml(
        """
defaults:
  observer_type: histogram
  histogram_options: {buckets: [1, 10]}
mappings:
- match: app.*.requests
  name: app_requests_total
  labels: {service: "$1", env: default}
- match: app.*.kb
  name: app_bytes_total
  scale: 1024
  honor_labels: true
  labels: {service: "$1", env: default}
- match: app.*.noise
  name: unused
  action: drop
- match: '^t$'
  match_type: regex
  name: t_seconds
  histogram_options: {buckets: [0.1, 0.25, 0.5, 1]}
"""
    )
    bridge = Bridge(statsd_port=0, metrics_port=0, mapping=config)
    result = apply(
        bridge,
        b"app.web.requests:3|c|#env:prod\napp.web.kb:2|c|#env:prod\napp.web.noise:1|c\nt:320|ms\nother.timer:5|h",
    )
    assert result.value("app_requests_total", service="web", env="default") == 3  # mapping label wins
    assert result.value("app_bytes_total", service="web", env="prod") == 2048  # honor_labels, scale
    assert result.get("unused_total") is None
    assert result.value("statsd_bridge_events_actions_total", action="drop") == 1
    assert [result.value("t_seconds_bucket", le=le) for le in ("0.1", "0.25", "0.5", "1.0", "+Inf")] == [0, 0, 1, 1, 1]
    assert result.value("t_seconds_sum") == 0.32
    assert [result.value("other_timer_bucket", le=le) for le in ("1.0", "10.0", "+Inf")] == [0, 1, 1]
    assert result.value("statsd_bridge_events_unmapped_total") == 1


def test_overlong_names_are_refused_before_any_cache(plain: Bridge) -> None:
    long_name = b"n" * 1024
    result = apply(plain, long_name + b":1|c\n" + b"n" * 1025 + b":1|c\nshort:1|c|#k:" + b"v" * 1020)
    assert result.value("n" * 1024 + "_total") == 1
    assert result.value("statsd_bridge_events_error_total", reason="too_long") == 2
    assert result.value("statsd_bridge_series", kind="unmapped") == 1
    assert plain.exporter.route_count == 1


def test_summary_quantiles_come_from_a_bounded_window(plain: Bridge) -> None:
    result = apply(plain, "\n".join(f"win:{v}|h" for v in range(1, 1001)).encode())
    # sum and count cover every observation, quantiles the last 200 (801..1000)
    assert (result.value("win_sum"), result.value("win_count")) == (500500, 1000)
    assert [result.value("win", quantile=q) for q in ("0.5", "0.9", "0.99")] == [900, 980, 998]


def _rules(count: int) -> MappingConfig:
    return MappingConfig.from_yaml(
        "mappings:\n"
        + "".join(f"- match: r{i}.*\n  name: r{i}_${{1}}\n" for i in range(count))
        # a drop rule never creates series, so it does not count
        + "- match: dropped.*\n  name: dropped\n  action: drop\n"
    )


@pytest.mark.parametrize(
    ("rules", "per_rule", "mapped", "note"),
    [
        (16, 500, 10000, None),
        (20, 500, 10000, None),
        (
            21,
            500,
            10000,
            "21 mapping rules x 500 series per rule > 10000 mapped series: "
            "junk through 20 rules at once can fill the mapped budget",
        ),
        (
            3,
            4,
            10,
            "3 mapping rules x 4 series per rule > 10 mapped series: "
            "junk through 3 rules at once can fill the mapped budget",
        ),
        (0, 500, 10000, None),
    ],
)
def test_budget_note_says_when_junk_through_enough_rules_fills_the_mapped_budget(
    rules: int, per_rule: int, mapped: int, note: str | None
) -> None:
    bridge = Bridge(mapping=_rules(rules), max_series_per_rule=per_rule, max_mapped_series=mapped)
    assert len(bridge.exporter.map_rules) == rules
    assert bridge.exporter.budget_note() == note


def test_start_logs_the_budgets_and_the_note(caplog: pytest.LogCaptureFixture) -> None:
    config = _rules(3)
    with (
        caplog.at_level(logging.INFO, logger="airflow_export.bridge"),
        Bridge(statsd_port=0, metrics_port=0, mapping=config, max_series_per_rule=4, max_mapped_series=10),
    ):
        pass
    messages = [record.getMessage() for record in caplog.records]
    assert any("(mappings=4, max series: mapped=10 unmapped=1000 per rule=4, receive buffer=" in m for m in messages)
    assert (
        messages.count(
            "3 mapping rules x 4 series per rule > 10 mapped series: "
            "junk through 3 rules at once can fill the mapped budget"
        )
        == 1
    )
