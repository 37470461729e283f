"""Separate series budgets: a flood of junk or unmapped names can never starve mapped metrics, and a
flood of junk label values through one mapping rule can never starve another rule.

Every test runs the real ``airflow-export-bridge`` command with the project's mapping (with the
default budgets, 10,000 mapped, 1,000 unmapped and 500 per mapping rule, unless it says otherwise),
sends real UDP on loopback, and judges only what a scrape of ``/metrics`` says.
"""

from __future__ import annotations

import random
import time

from tests.bridge.support import MAPPING_FILE, BridgeProcess, Scrape, scrape, send_udp, wait_for, wait_for_packets
from tests.bridge.test_abuse import pack, send_paced

MAPPED_BUDGET = 10_000  # the CLI defaults under test
UNMAPPED_BUDGET = 1_000
RULE_BUDGET = 500
MAP_RULES = 16  # rules of deploy/statsd/mapping.yml that map (22 minus 6 drop rules)
# positions of rules in deploy/statsd/mapping.yml (the ``rule`` label of the per-rule self-metrics)
REQUESTS_RULE = {"rule": "0", "metric": "airflow_export_requests_total"}
OPEN_SLOTS_RULE = {"rule": "11", "metric": "airflow_pool_open_slots"}


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
        assert result.value("statsd_bridge_series_dropped_total", kind="rule") == 0
        assert result.value("statsd_bridge_events_actions_total", action="map") == 13
        assert result.value("statsd_bridge_events_unmapped_total") == distinct

        # exactly the first 1,000 junk names are exposed, each with its own value
        exposed = {name.split("_")[1] for name, _ in result.samples if name.startswith("junk_")}
        assert exposed == {str(i) for i in range(UNMAPPED_BUDGET)}

        size = len(result.text.encode())
        print(
            f"\n/metrics after {distinct:,} junk names: {size / 1024:.0f} KiB (baseline {baseline / 1024:.0f} KiB), "
            f"scraped in {seconds * 1000:.0f} ms"
        )
        # a junk series here costs at most 7 lines (summary: 3 quantiles, sum, count, HELP, TYPE) of < 160 bytes
        assert size - baseline < UNMAPPED_BUDGET * 7 * 160 + 16 * 1024
        assert seconds < 2.0
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()


def _run(*args: str) -> BridgeProcess:
    return BridgeProcess("--mapping", str(MAPPING_FILE), "--log-level", "error", *args)


def _send_and_wait(bridge: BridgeProcess, before: Scrape, *packets: bytes) -> Scrape:
    send_udp(bridge.statsd_port, *packets)
    return wait_for_packets(bridge.url, int(before.value("statsd_bridge_udp_packets_total")) + len(packets))


def _rule_drops(result: Scrape, rule: dict[str, str], kind: str = "rule") -> float:
    return result.value("statsd_bridge_rule_series_dropped_total", kind=kind, **rule)


def _rule_series(result: Scrape) -> dict[str, float]:
    return {
        dict(labels)["metric"]: value
        for (name, labels), value in result.samples.items()
        if name == "statsd_bridge_rule_series"
    }


def test_junk_through_one_rule_cannot_starve_another_rule() -> None:
    """The tester's scenario: 10,000 junk pool names match the open_slots rule, then an export metric."""
    bridge = _run()
    try:
        first = scrape(bridge.url)
        assert first.value("statsd_bridge_rule_series_limit") == RULE_BUDGET
        # 16 rules that map, each reported (the 6 drop rules create no series and are not)
        assert len(_rule_series(first)) == MAP_RULES
        assert sum(_rule_series(first).values()) == 0
        # a legitimate pool series exists before the flood
        before = _send_and_wait(bridge, first, b"airflow.pool.open_slots.export_pool:4|g")
        assert before.value("airflow_pool_open_slots", pool="export_pool") == 4

        flood = [b"airflow.pool.open_slots.junk%d:1|g" % i for i in range(10_000)]
        flooded = _flood(bridge, flood)
        excess = 1 + len(flood) - RULE_BUDGET  # export_pool plus 10,000 junk pools, 500 allowed
        assert excess == 9_501
        assert flooded.value("statsd_bridge_series", kind="mapped") == RULE_BUDGET
        assert flooded.value("statsd_bridge_rule_series", **OPEN_SLOTS_RULE) == RULE_BUDGET
        assert flooded.value("statsd_bridge_series_dropped_total", kind="rule") == excess
        assert _rule_drops(flooded, OPEN_SLOTS_RULE) == excess
        assert _rule_drops(flooded, OPEN_SLOTS_RULE, kind="mapped") == 0
        assert flooded.value("statsd_bridge_series_dropped_total", kind="mapped") == 0

        # the export metric of another rule appears with its exact value; the pool series keeps updating
        result = _send_and_wait(
            bridge,
            flooded,
            b"airflow.export.requests.csv.success:1|c",
            b"airflow.pool.open_slots.export_pool:9|g\nairflow.pool.open_slots.export_pool:-2|g",
            b"airflow.pool.open_slots.junk10000:1|g",  # one more new junk pool: dropped, counted
        )
        assert result.value("airflow_export_requests_total", format="csv", status="success") == 1
        assert result.value("airflow_pool_open_slots", pool="export_pool") == 7
        assert result.value("airflow_pool_open_slots_high_water", pool="export_pool") == 9
        assert result.value("airflow_pool_open_slots", pool="junk498") == 1  # the 499th junk pool got in
        assert result.get("airflow_pool_open_slots", pool="junk499") is None
        assert result.get("airflow_pool_open_slots", pool="junk10000") is None
        assert _rule_drops(result, OPEN_SLOTS_RULE) == excess + 1
        assert result.value("statsd_bridge_series_dropped_total", kind="rule") == excess + 1
        assert result.value("statsd_bridge_rule_series", **REQUESTS_RULE) == 1
        assert _rule_drops(result, REQUESTS_RULE) == 0
        assert result.value("statsd_bridge_series", kind="mapped") == RULE_BUDGET + 1

        # a flood through a second rule (the requests counter) is capped on its own
        flood = [b"airflow.export.requests.junk%d.success:1|c" % i for i in range(10_000)]
        flooded = _flood(bridge, flood)
        assert flooded.value("statsd_bridge_rule_series", **REQUESTS_RULE) == RULE_BUDGET
        assert _rule_drops(flooded, REQUESTS_RULE) == 1 + len(flood) - RULE_BUDGET  # csv/success holds one
        assert _rule_drops(flooded, OPEN_SLOTS_RULE) == excess + 1  # unchanged
        assert flooded.value("statsd_bridge_series", kind="mapped") == 2 * RULE_BUDGET
        assert flooded.value("statsd_bridge_series_dropped_total", kind="rule") == excess + 1 + 9_501

        result = _send_and_wait(
            bridge,
            flooded,
            b"airflow.export.requests.csv.success:1|c\nairflow.export.failures.write_error:1|c",
            b"airflow.pool.open_slots.export_pool:5|g",
        )
        assert result.value("airflow_export_requests_total", format="csv", status="success") == 2
        assert result.value("airflow_export_failures_total", reason="write_error") == 1  # a third rule: unaffected
        assert result.value("airflow_pool_open_slots", pool="export_pool") == 5
        assert result.value("statsd_bridge_series", kind="mapped") == 2 * RULE_BUDGET + 1
        assert sum(_rule_series(result).values()) == 2 * RULE_BUDGET + 1
        assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 0
        assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == 0
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()


def test_junk_through_every_rule_cannot_fill_the_default_mapped_budget() -> None:
    """16 rules x 500 = 8,000 <= 10,000: with the deploy mapping and the defaults no rule can be starved."""
    junk = 600
    per_rule = [
        b"airflow.export.requests.j%d.success:1|c",
        b"airflow.export.duration.j%d:1|ms",
        b"airflow.export.records.j%d:1|c",
        b"airflow.export.bytes.j%d:1|c",
        b"airflow.export.failures.j%d:1|c",
        b"airflow.export.running:1|g|#junk:j%d",  # no capture: labels from tags are the flood vector
        b"airflow.export.memory_peak.j%d:1|g",
        b"airflow.export.throughput.j%d:1|g",
        b"airflow.pool.scheduled_slots.j%d:1|g",
        b"airflow.pool.queued_slots.j%d:1|g",
        b"airflow.pool.running_slots.j%d:1|g",
        b"airflow.pool.open_slots.j%d:1|g",
        b"airflow.pool.deferred_slots.j%d:1|g",
        b"airflow.pool.starving_tasks.j%d:1|g",
        b"airflow.pool.open_slots.dotted.j%d:1|g",  # the regex rule for pool names with dots
        b"airflow.ti.finish.dag.j%d.success:1|c",
    ]
    assert len(per_rule) == MAP_RULES
    bridge = _run()
    try:
        flooded = _flood(bridge, [template % i for template in per_rule for i in range(junk)])
        assert _rule_series(flooded) == {metric: RULE_BUDGET for metric in _rule_series(flooded)}
        assert flooded.value("statsd_bridge_series", kind="mapped") == MAP_RULES * RULE_BUDGET == 8_000
        assert flooded.value("statsd_bridge_series_dropped_total", kind="rule") == MAP_RULES * (junk - RULE_BUDGET)
        assert flooded.value("statsd_bridge_series_dropped_total", kind="mapped") == 0
        drops = {
            dict(labels)["rule"]: value
            for (name, labels), value in flooded.samples.items()
            if name == "statsd_bridge_rule_series_dropped_total" and dict(labels)["kind"] == "rule"
        }
        assert drops == {rule: junk - RULE_BUDGET for rule in drops} and len(drops) == MAP_RULES
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()


def test_junk_spread_over_enough_rules_still_fills_the_mapped_budget() -> None:
    """What the per-rule budget does not prevent: k rules x per-rule > mapped budget.

    1,200 mapped series, 500 per rule: two flooded rules take 1,000, a third gets the last 200 and
    then the mapped budget is full for every rule, including the export metrics.
    """
    bridge = _run("--max-mapped-series", "1200", "--max-series-per-rule", "500")
    try:
        queued_rule = {"rule": "9", "metric": "airflow_pool_queued_slots"}
        scheduled_rule = {"rule": "8", "metric": "airflow_pool_scheduled_slots"}
        flood = [
            b"airflow.pool.%s.j%d:1|g" % (gauge, i)
            for gauge in (b"open_slots", b"queued_slots", b"scheduled_slots")
            for i in range(600)
        ]
        flooded = _flood(bridge, flood)
        assert flooded.value("statsd_bridge_series", kind="mapped") == 1200
        assert flooded.value("statsd_bridge_rule_series", **OPEN_SLOTS_RULE) == 500
        assert flooded.value("statsd_bridge_rule_series", **queued_rule) == 500
        assert flooded.value("statsd_bridge_rule_series", **scheduled_rule) == 200
        assert _rule_drops(flooded, OPEN_SLOTS_RULE) == 100
        assert _rule_drops(flooded, queued_rule) == 100
        assert _rule_drops(flooded, scheduled_rule) == 0
        assert _rule_drops(flooded, scheduled_rule, kind="mapped") == 400
        assert flooded.value("statsd_bridge_series_dropped_total", kind="rule") == 200
        assert flooded.value("statsd_bridge_series_dropped_total", kind="mapped") == 400

        result = _send_and_wait(
            bridge, flooded, b"airflow.export.requests.csv.success:1|c\nairflow.pool.open_slots.j0:3|g"
        )
        assert result.get("airflow_export_requests_total", format="csv", status="success") is None  # starved
        assert _rule_drops(result, REQUESTS_RULE, kind="mapped") == 1
        assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 401
        assert result.value("airflow_pool_open_slots", pool="j0") == 3  # existing series still update
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()


def test_flood_of_mapped_label_values_is_capped_by_the_mapped_budget() -> None:
    """The overall bound: with the per-rule budget raised above it, one rule meets the mapped budget."""
    rng = random.Random(11)
    distinct = MAPPED_BUDGET + 2_000
    formats = [b"f%d_%s" % (i, rng.randbytes(4).hex().encode()) for i in range(distinct)]
    flood = [b"airflow.export.requests.%s.success:1|c" % fmt for fmt in formats]
    bridge = _run("--max-series-per-rule", str(2 * MAPPED_BUDGET))
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
        assert (
            result.value("airflow_export_requests_total", format=formats[MAPPED_BUDGET - 1].decode(), status="success")
            == 1
        )
        assert (
            result.get("airflow_export_requests_total", format=formats[MAPPED_BUDGET].decode(), status="success")
            is None
        )
        assert result.get("airflow_export_requests_total", format="pdf", status="failed") is None
        assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == distinct - MAPPED_BUDGET + 1
        assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == 0
        assert result.value("statsd_bridge_series_dropped_total", kind="rule") == 0
        assert _rule_drops(result, REQUESTS_RULE, kind="mapped") == distinct - MAPPED_BUDGET + 1
        assert result.value("other_metric_total") == 4
        assert result.value("statsd_bridge_series", kind="unmapped") == 1

        size = len(result.text.encode())
        print(
            f"\n/metrics with {MAPPED_BUDGET:,} mapped series: {size / 1024:.0f} KiB, "
            f"scraped in {seconds * 1000:.0f} ms"
        )
        assert size < MAPPED_BUDGET * 120 + 64 * 1024  # one sample line of < 120 bytes per series
        assert seconds < 3.0
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()
