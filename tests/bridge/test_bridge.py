"""The in-process bridge: real UDP datagrams in, ``/metrics`` scraped over HTTP and parsed back."""

from __future__ import annotations

import logging
import math
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from airflow_export.bridge import Bridge, MappingConfig
from airflow_export.bridge.series import SummarySeries
from airflow_export.bridge.log_limiter import RateLimitedLog
from tests.bridge.support import (
    MAPPING_FILE,
    Scrape,
    scrape,
    send_udp,
    wait_for_packets,
)

DURATION_BUCKETS = ("0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "+Inf")


def apply(bridge: Bridge, *packets: bytes) -> Scrape:
    """Hand datagrams to the bridge without a socket and parse its exposition."""
    for packet in packets:
        bridge.handle_packet(packet)
    return Scrape(bridge.exposition())


@pytest.fixture
def plain() -> Bridge:
    """A bridge that is never started (no sockets), without mappings."""
    return Bridge(statsd_port=0, metrics_port=0)


# -- the handed cases over real UDP ---------------------------------------------------------------
def test_timer_320ms_is_observed_as_0_32_seconds_in_the_mapped_histogram(bridge: Bridge) -> None:
    send_udp(bridge.statsd_port, b"airflow.export.duration.csv:320|ms")
    result = wait_for_packets(bridge.metrics_url, 1)
    name = "airflow_export_duration_seconds"
    assert result.families[name].type == "histogram"
    buckets = {le: result.value(name + "_bucket", format="csv", le=le) for le in DURATION_BUCKETS}
    assert buckets == {"0.1": 0, "0.25": 0, "0.5": 1, "1.0": 1, "2.5": 1, "5.0": 1, "10.0": 1, "30.0": 1, "60.0": 1, "+Inf": 1}
    assert result.value(name + "_count", format="csv") == 1
    assert result.value(name + "_sum", format="csv") == 0.32


def test_unmapped_timer_320ms_is_a_summary_of_0_32_seconds(bridge: Bridge) -> None:
    send_udp(bridge.statsd_port, b"t:320|ms")
    result = wait_for_packets(bridge.metrics_url, 1)
    assert result.families["t"].type == "summary"
    assert result.value("t_sum") == 0.32
    assert result.value("t_count") == 1
    assert result.value("t", quantile="0.5") == 0.32


def test_gauge_values_deltas_and_high_water(bridge: Bridge) -> None:
    seen = []
    for packet, count in ((b"g:10|g", 1), (b"g:+5|g", 2), (b"g:-3|g", 3), (b"g:7|g", 4)):
        send_udp(bridge.statsd_port, packet)
        result = wait_for_packets(bridge.metrics_url, count)
        seen.append((result.value("g"), result.value("g_high_water")))
    assert seen == [(10, 10), (15, 15), (12, 15), (7, 15)]


def test_bad_line_is_counted_and_the_rest_of_the_packet_applied(bridge: Bridge) -> None:
    send_udp(bridge.statsd_port, b"a:1|c\nbad\nb:2|g")
    result = wait_for_packets(bridge.metrics_url, 1)
    assert result.value("a_total") == 1
    assert result.value("b") == 2
    assert result.value("statsd_bridge_sample_errors_total", reason="malformed_line") == 1
    assert sum(result.value("statsd_bridge_sample_errors_total", reason=r) for r in _reasons(result)) == 1
    assert result.value("statsd_bridge_line_errors_total") == 1
    assert result.value("statsd_bridge_lines_total") == 3
    assert result.value("statsd_bridge_events_total", type="counter") == 1
    assert result.value("statsd_bridge_events_total", type="gauge") == 1


def test_sampled_counter_adds_value_divided_by_rate(bridge: Bridge) -> None:
    send_udp(bridge.statsd_port, b"c:1|c|@0.1")
    assert wait_for_packets(bridge.metrics_url, 1).value("c_total") == 10


def test_dogstatsd_and_influxdb_tags_become_labels(bridge: Bridge) -> None:
    send_udp(bridge.statsd_port, b"dog.c:1|c|#env:prod,team:data\ninflux.c,env=prod,team.name=data:2|c")
    result = wait_for_packets(bridge.metrics_url, 1)
    assert result.value("dog_c_total", env="prod", team="data") == 1
    assert result.value("influx_c_total", env="prod", team_name="data") == 2


def test_contract_metrics_over_udp(bridge: Bridge) -> None:
    packet = b"\n".join(
        [
            b"airflow.export.requests.csv.success:1|c",
            b"airflow.export.requests.csv.success:1|c",
            b"airflow.export.requests.pdf.failed:1|c",
            b"airflow.export.records.csv:1500|c",
            b"airflow.export.bytes.csv:40960|c",
            b"airflow.export.failures.timeout:1|c",
            b"airflow.export.running:+1|g",
            b"airflow.export.running:+1|g",
            b"airflow.export.running:-1|g",
            b"airflow.export.memory_peak.csv:52428800|g",
            b"airflow.export.throughput.csv:1250.5|g",
            b"airflow.pool.scheduled_slots.export_pool:4|g",
            b"airflow.pool.scheduled_slots,pool_name=export_pool:4|g",
            b"airflow.pool.scheduled_slots.export_pool:1|g",
            b"airflow.pool.scheduled_slots:9|g",
        ]
    )
    send_udp(bridge.statsd_port, packet)
    result = wait_for_packets(bridge.metrics_url, 1)
    assert result.value("airflow_export_requests_total", format="csv", status="success") == 2
    assert result.value("airflow_export_requests_total", format="pdf", status="failed") == 1
    assert result.value("airflow_export_records_total", format="csv") == 1500
    assert result.value("airflow_export_bytes_total", format="csv") == 40960
    assert result.value("airflow_export_failures_total", reason="timeout") == 1
    assert (result.value("airflow_export_running"), result.value("airflow_export_running_high_water")) == (1, 2)
    assert result.value("airflow_export_memory_peak_bytes", format="csv") == 52428800
    assert result.value("airflow_export_throughput_records_per_second", format="csv") == 1250.5
    # legacy and tagged pool forms end in one series labelled pool (the tagged one is a dropped duplicate)
    pool_series = {key for key in result.samples if key[0].startswith("airflow_pool_scheduled_slots")}
    assert pool_series == {
        ("airflow_pool_scheduled_slots", frozenset({("pool", "export_pool")})),
        ("airflow_pool_scheduled_slots_high_water", frozenset({("pool", "export_pool")})),
    }
    assert result.value("airflow_pool_scheduled_slots", pool="export_pool") == 1
    assert result.value("airflow_pool_scheduled_slots_high_water", pool="export_pool") == 4
    assert result.value("statsd_bridge_events_actions_total", action="drop") == 2
    assert result.value("statsd_bridge_events_actions_total", action="map") == 13
    assert result.value("statsd_bridge_events_unmapped_total") == 0


def test_http_endpoints(bridge: Bridge) -> None:
    base = bridge.metrics_url.rsplit("/", 1)[0]
    with urllib.request.urlopen(base + "/-/healthy", timeout=5) as response:
        assert response.read() == b"OK\n"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base + "/nope", timeout=5)
    assert caught.value.code == 404
    assert bridge.listening_line == (
        f"bridge listening statsd=udp://127.0.0.1:{bridge.statsd_port} metrics=http://127.0.0.1:{bridge.metrics_port}/metrics"
    )
    assert scrape(bridge.metrics_url).value("statsd_bridge_loaded_mappings") == len(MappingConfig.from_file(MAPPING_FILE).mappings)


def test_stop_is_quick_and_releases_the_ports() -> None:
    running = Bridge(statsd_port=0, metrics_port=0).start()
    statsd_port, metrics_port = running.statsd_port, running.metrics_port
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 2.0
    running.stop()  # idempotent
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("127.0.0.1", statsd_port))
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", metrics_port))


def test_port_in_use_raises_and_leaves_nothing_open() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        bridge = Bridge(statsd_port=taken.getsockname()[1], metrics_port=0)
        with pytest.raises(OSError):
            bridge.start()
        assert not bridge._listener.bound and bridge._http is None


# -- semantics checked without sockets ------------------------------------------------------------
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


def _reasons(result: Scrape) -> list[str]:
    return [dict(labels)["reason"] for name, labels in result.samples if name == "statsd_bridge_sample_errors_total"]


def test_bad_line_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = RateLimitedLog(logging.getLogger("test.ratelimit"), burst=3, window=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.ratelimit"):
        for i in range(8):
            limiter.warning("bad line %d", i)
        now[0] = 10.0
        limiter.warning("bad line %d", 8)
    assert [record.getMessage() for record in caplog.records] == [
        "bad line 0",
        "bad line 1",
        "bad line 2",
        "5 similar messages suppressed in the last 10 s",
        "bad line 8",
    ]


def test_the_bridge_imports_no_airflow() -> None:
    code = (
        "import sys, airflow_export.bridge.cli, airflow_export.bridge.__main__\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "[]\n"


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


def test_summary_forgets_observations_older_than_max_age() -> None:
    series = SummarySeries(capacity=10)
    series.observe(5.0, 1, now=0.0)
    series.observe(7.0, 2, now=100.0)
    assert series.quantile_values([0.5, 0.9], now=650.0, max_age=600.0) == [7.0, 7.0]
    assert all(math.isnan(v) for v in series.quantile_values([0.5], now=701.0, max_age=600.0))
    assert (series.sum, series.count) == (19.0, 3)
