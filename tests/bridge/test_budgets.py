"""Separate series budgets: a flood of junk or unmapped names can never starve mapped metrics.

Both tests run the real ``airflow-export-bridge`` command with its default budgets (10,000 mapped,
1,000 unmapped) and the project's mapping, send real UDP on loopback, and judge only what a scrape
of ``/metrics`` says.
"""

from __future__ import annotations

import random
import time

from tests.bridge.support import MAPPING_FILE, BridgeProcess, Scrape, scrape, send_udp, wait_for
from tests.bridge.test_abuse import pack, send_paced

MAPPED_BUDGET = 10_000  # the CLI defaults under test
UNMAPPED_BUDGET = 1_000


def _flood(bridge: BridgeProcess, lines: list[bytes]) -> Scrape:
    """Send ``lines`` paced (no kernel drops) and wait until the bridge has read all of them."""
    before = scrape(bridge.url)
    seen = before.value("statsd_bridge_lines_total")
    receive_buffer = int(before.value("statsd_bridge_udp_receive_buffer_bytes"))
    packets = pack(lines)
    send_paced(bridge.statsd_port, packets, [p.count(b"\n") + 1 for p in packets], queue_limit=receive_buffer // 4)
    result: list[Scrape] = []

    def all_read() -> bool:
        result[:] = [scrape(bridge.url)]
        return result[0].value("statsd_bridge_lines_total") >= seen + len(lines)

    wait_for(all_read, timeout=30, interval=0.1)
    assert result[0].get("statsd_bridge_udp_kernel_drops_total", 0) == 0
    return result[0]


def _timed_scrape(url: str) -> tuple[Scrape, float]:
    started = time.perf_counter()
    result = scrape(url)
    return result, time.perf_counter() - started


def test_unmapped_flood_cannot_starve_mapped_export_metrics() -> None:
    rng = random.Random(7)
    distinct = 5_000
    kinds = (b"c", b"g", b"ms")  # counters, gauges (two families each) and timers (summaries)
    flood = [
        b"junk.%d.%s:%d|%s" % (i, rng.randbytes(6).hex().encode(), rng.randint(1, 9), kinds[i % 3])
        for i in range(distinct)
    ]
    bridge = BridgeProcess("--mapping", str(MAPPING_FILE), "--log-level", "error")
    try:
        baseline = len(scrape(bridge.url).text.encode())
        flooded = _flood(bridge, flood)
        assert flooded.value("statsd_bridge_series", kind="unmapped") == UNMAPPED_BUDGET
        assert flooded.value("statsd_bridge_series_dropped_total", kind="unmapped") == distinct - UNMAPPED_BUDGET

        # the budget is full: now the legitimate export metrics arrive
        send_udp(
            bridge.statsd_port,
            b"airflow.export.requests.pdf.failed:1|c\nairflow.export.requests.pdf.failed:1|c",
            b"airflow.export.requests.csv.success:2|c\nairflow.export.records.csv:1500|c\nairflow.export.bytes.csv:65536|c",
            b"airflow.export.duration.csv:320|ms\nairflow.export.duration.csv:4100|ms",
            b"airflow.export.running:+1|g\nairflow.export.running:+1|g\nairflow.export.running:-2|g",
            b"airflow.export.failures.write_error:1|c\nairflow.pool.scheduled_slots.export_pool:7|g",
            b"airflow.export.requests.pdf.failed:1|c",
        )
        packets = flooded.value("statsd_bridge_udp_packets_total") + 6
        wait_for(lambda: scrape(bridge.url).value("statsd_bridge_udp_packets_total") >= packets, timeout=10)
        result, seconds = _timed_scrape(bridge.url)

        assert result.value("airflow_export_requests_total", format="pdf", status="failed") == 3
        assert result.value("airflow_export_requests_total", format="csv", status="success") == 2
        assert result.value("airflow_export_records_total", format="csv") == 1500
        assert result.value("airflow_export_bytes_total", format="csv") == 65536
        assert result.value("airflow_export_failures_total", reason="write_error") == 1
        duration = "airflow_export_duration_seconds"
        assert result.value(duration + "_bucket", format="csv", le="0.25") == 0
        assert result.value(duration + "_bucket", format="csv", le="0.5") == 1
        assert result.value(duration + "_bucket", format="csv", le="5.0") == 2
        assert result.value(duration + "_count", format="csv") == 2
        assert abs(result.value(duration + "_sum", format="csv") - 4.42) < 1e-9
        assert (result.value("airflow_export_running"), result.value("airflow_export_running_high_water")) == (0, 2)
        assert result.value("airflow_pool_scheduled_slots", pool="export_pool") == 7

        # 2 requests + records + bytes + duration + running + failures + pool
        assert result.value("statsd_bridge_series", kind="mapped") == 8
        assert result.value("statsd_bridge_series", kind="unmapped") == UNMAPPED_BUDGET
        assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == distinct - UNMAPPED_BUDGET
        assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 0
        assert result.value("statsd_bridge_events_actions_total", action="map") == 13
        assert result.value("statsd_bridge_events_unmapped_total") == distinct

        # exactly the first 1,000 junk names are exposed, each with its own value
        exposed = {name.split("_")[1] for name, _ in result.samples if name.startswith("junk_")}
        assert exposed == {str(i) for i in range(UNMAPPED_BUDGET)}

        size = len(result.text.encode())
        print(f"\n/metrics after {distinct:,} junk names: {size / 1024:.0f} KiB (baseline {baseline / 1024:.0f} KiB), "
              f"scraped in {seconds * 1000:.0f} ms")
        # a junk series here costs at most 7 lines (summary: 3 quantiles, sum, count, HELP, TYPE) of < 160 bytes
        assert size - baseline < UNMAPPED_BUDGET * 7 * 160 + 16 * 1024
        assert seconds < 2.0
        status, _ = bridge.stop()
        assert status == 0
    finally:
        if bridge.process.poll() is None:
            bridge.process.kill()
            bridge.process.wait()


def test_flood_of_mapped_label_values_is_capped_by_the_mapped_budget() -> None:
    rng = random.Random(11)
    distinct = MAPPED_BUDGET + 2_000
    formats = [b"f%d_%s" % (i, rng.randbytes(4).hex().encode()) for i in range(distinct)]
    flood = [b"airflow.export.requests.%s.success:1|c" % fmt for fmt in formats]
    bridge = BridgeProcess("--mapping", str(MAPPING_FILE), "--log-level", "error")
    try:
        flooded = _flood(bridge, flood)
        assert flooded.value("statsd_bridge_series", kind="mapped") == MAPPED_BUDGET
        assert flooded.value("statsd_bridge_series_dropped_total", kind="mapped") == distinct - MAPPED_BUDGET

        send_udp(
            bridge.statsd_port,
            # an existing mapped series still counts; a new one is refused and counted
            b"airflow.export.requests.%s.success:5|c\nairflow.export.requests.pdf.failed:1|c" % formats[0],
            # the unmapped budget is untouched by the mapped flood
            b"other.metric:4|c",
        )
        packets = flooded.value("statsd_bridge_udp_packets_total") + 2
        wait_for(lambda: scrape(bridge.url).value("statsd_bridge_udp_packets_total") >= packets, timeout=10)
        result, seconds = _timed_scrape(bridge.url)

        requests = {
            labels: value for (name, labels), value in result.samples.items() if name == "airflow_export_requests_total"
        }
        assert len(requests) == MAPPED_BUDGET
        assert sum(requests.values()) == MAPPED_BUDGET + 5
        assert result.value("airflow_export_requests_total", format=formats[0].decode(), status="success") == 6
        assert result.value(
            "airflow_export_requests_total", format=formats[MAPPED_BUDGET - 1].decode(), status="success"
        ) == 1
        assert result.get("airflow_export_requests_total", format=formats[MAPPED_BUDGET].decode(), status="success") is None
        assert result.get("airflow_export_requests_total", format="pdf", status="failed") is None
        assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == distinct - MAPPED_BUDGET + 1
        assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == 0
        assert result.value("other_metric_total") == 4
        assert result.value("statsd_bridge_series", kind="unmapped") == 1

        size = len(result.text.encode())
        print(f"\n/metrics with {MAPPED_BUDGET:,} mapped series: {size / 1024:.0f} KiB, scraped in {seconds * 1000:.0f} ms")
        assert size < MAPPED_BUDGET * 120 + 64 * 1024  # one sample line of < 120 bytes per series
        assert seconds < 3.0
        status, _ = bridge.stop()
        assert status == 0
    finally:
        if bridge.process.poll() is None:
            bridge.process.kill()
            bridge.process.wait()
