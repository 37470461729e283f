"""The in-process bridge: real UDP datagrams in, ``/metrics`` scraped over HTTP and parsed back."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from airflow_export.bridge import Bridge, MappingConfig
from tests.bridge.support import (
    MAPPING_FILE,
    Scrape,
    scrape,
    send_udp,
    wait_for_packets,
)

DURATION_BUCKETS = ("0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "+Inf")


# -- the handed cases over real UDP ---------------------------------------------------------------
def test_timer_320ms_is_observed_as_0_32_seconds_in_the_mapped_histogram(bridge: Bridge) -> None:
    send_udp(bridge.statsd_port, b"airflow.export.duration.csv:320|ms")
    result = wait_for_packets(bridge.metrics_url, 1)
    name = "airflow_export_duration_seconds"
    assert result.families[name].type == "histogram"
    buckets = {le: result.value(name + "_bucket", format="csv", le=le) for le in DURATION_BUCKETS}
    assert buckets == {
        "0.1": 0,
        "0.25": 0,
        "0.5": 1,
        "1.0": 1,
        "2.5": 1,
        "5.0": 1,
        "10.0": 1,
        "30.0": 1,
        "60.0": 1,
        "+Inf": 1,
    }
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
    assert scrape(bridge.metrics_url).value("statsd_bridge_loaded_mappings") == len(
        MappingConfig.from_file(MAPPING_FILE).mappings
    )


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


def _reasons(result: Scrape) -> list[str]:
    return [dict(labels)["reason"] for name, labels in result.samples if name == "statsd_bridge_sample_errors_total"]


def test_the_bridge_imports_no_airflow() -> None:
    code = (
        "import sys, airflow_export.bridge.cli, airflow_export.bridge.__main__\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "[]\n"
