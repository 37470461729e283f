"""Heavy tests of the real CLI: 1,000,000 lines with 10 % garbage, and 200,000 distinct names.

The sender paces itself (target :data:`TARGET_RATE` lines/s) and backs off while the bridge's
socket receive queue (``/proc/net/udp``) is more than a quarter full, so the kernel never drops
a datagram; the time spent waiting counts in the measured sending rate, which must stay at or
above :data:`MIN_RATE`. Every well-formed line is then checked: exact counter totals, last gauge
values and high-water marks, histogram bucket counts and sums, and error counts by reason.
"""

from __future__ import annotations

import random
import socket
import time
from bisect import bisect_left
from collections import Counter

import psutil
import pytest

from tests.bridge.support import MAPPING_FILE, BridgeProcess, scrape, wait_for

TOTAL_LINES = 1_000_000
GARBAGE_EVERY = 10  # one line in ten is garbage
TARGET_RATE = 100_000  # lines/s the sender aims for
MIN_RATE = 50_000  # lines/s the sender must reach
PACKET_BYTES = 1400
DURATION_BOUNDS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def udp_receive_queue(port: int) -> int | None:
    """Bytes queued on the IPv4 UDP socket bound to ``port`` (``/proc/net/udp``), or None."""
    needle = f":{port:04X}"
    try:
        with open("/proc/net/udp", encoding="ascii") as table:
            next(table)
            for row in table:
                fields = row.split()
                if fields[1].endswith(needle):
                    return int(fields[4].split(":")[1], 16)
    except OSError:
        return None
    return None


def pack(lines: list[bytes]) -> list[bytes]:
    """Group lines into datagrams of at most ``PACKET_BYTES`` (a longer line travels alone)."""
    packets: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > PACKET_BYTES:
            packets.append(b"\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        packets.append(b"\n".join(current))
    return packets


def send_paced(port: int, packets: list[bytes], lines_per_packet: list[int], queue_limit: int) -> float:
    """Send all packets at about ``TARGET_RATE`` lines/s, backing off on a full receive queue.

    :returns: the measured sending rate in lines/s.
    """
    sent_lines = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        started = time.perf_counter()
        for index, (packet, count) in enumerate(zip(packets, lines_per_packet, strict=True)):
            sock.sendto(packet, ("127.0.0.1", port))
            sent_lines += count
            if index % 32 == 31:
                ahead = sent_lines / TARGET_RATE - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
                while (queued := udp_receive_queue(port)) is not None and queued > queue_limit:
                    time.sleep(0.002)
        elapsed = time.perf_counter() - started
    return sent_lines / elapsed


class Workload:
    """One million deterministic lines and everything the bridge must report for them."""

    def __init__(self, seed: int = 20251129) -> None:
        rng = random.Random(seed)
        self.lines: list[bytes] = []
        self.counters: Counter[int] = Counter()  # abuse.count.<k> -> total
        self.tagged: Counter[str] = Counter()  # shard -> total of abuse.tagged (dogstatsd)
        self.influx: Counter[str] = Counter()  # shard -> total of abuse.influx
        self.multi = 0
        self.gauges: dict[int, int] = {}  # abuse.gauge.<k> -> last value
        self.level = 0  # abuse.level, moved by +1/-1
        self.level_high = float("-inf")
        self.duration_buckets = [0] * (len(DURATION_BOUNDS) + 1)
        self.duration_sum = 0.0
        self.errors: Counter[str] = Counter()
        self.line_errors = 0
        self.too_long = 0  # refused after parsing (events_error), not a sample error
        self.samples = 0
        self.events: Counter[str] = Counter()
        garbage_makers = (
            lambda: b"\xff" + rng.randbytes(rng.randint(4, 60)).replace(b"\n", b"n"),  # invalid UTF-8
            lambda: b"",
            lambda: b"h" * rng.randint(2000, 6000),  # huge name, no value
            lambda: b"abuse.count.%d:NaN|c" % rng.randrange(50),
            lambda: b"abuse.count.%d:1|zz" % rng.randrange(50),
            lambda: b"abuse.count.%d:1" % rng.randrange(50),
            lambda: b"abuse.count.%d:1|c|oops" % rng.randrange(50),
            lambda: b"h" * rng.randint(1100, 3000) + b":1|c",  # valid syntax, refused as too long
        )
        garbage_reasons = (
            ("malformed_line", 0),
            (None, 0),
            ("malformed_line", 0),
            ("malformed_value", 1),
            ("illegal_event", 1),
            ("not_enough_parts_after_colon", 0),
            ("invalid_sample_factor", 1),
            ("too_long", 1),
        )
        for i in range(TOTAL_LINES):
            if i % GARBAGE_EVERY == GARBAGE_EVERY - 1:
                kind = rng.randrange(len(garbage_makers))
                self.lines.append(garbage_makers[kind]())
                reason, samples = garbage_reasons[kind]
                if reason == "too_long":
                    self.too_long += 1
                elif reason:
                    self.errors[reason] += 1
                    self.line_errors += 1
                self.samples += samples
                continue
            self.lines.append(self._valid_line(rng))

    def _valid_line(self, rng: random.Random) -> bytes:
        kind = rng.randrange(8)
        value = rng.randint(1, 9)
        self.samples += 1
        if kind in (0, 1):
            key = rng.randrange(50)
            self.counters[key] += value
            self.events["counter"] += 1
            return b"abuse.count.%d:%d|c" % (key, value)
        if kind == 2:
            key = rng.randrange(50)
            self.counters[key] += value * 2
            self.events["counter"] += 1
            return b"abuse.count.%d:%d|c|@0.5" % (key, value)
        if kind == 3:
            shard = str(rng.randrange(4))
            if rng.random() < 0.5:
                self.tagged[shard] += value
                line = b"abuse.tagged:%d|c|#shard:%s" % (value, shard.encode())
            else:
                self.influx[shard] += value
                line = b"abuse.influx,shard=%s:%d|c" % (shard.encode(), value)
            self.events["counter"] += 1
            return line
        if kind == 4:
            key = rng.randrange(20)
            self.gauges[key] = value
            self.events["gauge"] += 1
            return b"abuse.gauge.%d:%d|g" % (key, value)
        if kind == 5:
            step = 1 if rng.random() < 0.55 else -1
            self.level += step
            self.level_high = max(self.level_high, self.level)
            self.events["gauge"] += 1
            return b"abuse.level:%+d|g" % step
        if kind == 6:
            millis = rng.randint(0, 70_000)
            seconds = millis / 1000.0
            self.duration_buckets[bisect_left(DURATION_BOUNDS, seconds)] += 1
            self.duration_sum += seconds
            self.events["observer"] += 1
            return b"airflow.export.duration.csv:%d|ms" % millis
        self.multi += value + 1
        self.samples += 1
        self.events["counter"] += 2
        return b"abuse.multi:%d|c:1|c" % value


@pytest.mark.slow
def test_one_million_lines_with_garbage_all_good_lines_applied() -> None:
    work = Workload()
    packets = pack(work.lines)
    lines_per_packet = [packet.count(b"\n") + 1 for packet in packets]
    assert sum(lines_per_packet) == TOTAL_LINES
    bridge = BridgeProcess("--mapping", str(MAPPING_FILE), "--log-level", "error")
    try:
        before = scrape(bridge.url)
        receive_buffer = int(before.value("statsd_bridge_udp_receive_buffer_bytes"))
        rate = send_paced(bridge.statsd_port, packets, lines_per_packet, queue_limit=receive_buffer // 4)

        def all_lines_seen() -> bool:
            return scrape(bridge.url).value("statsd_bridge_lines_total") >= TOTAL_LINES

        wait_for(all_lines_seen, timeout=30, interval=0.2)
        result = scrape(bridge.url)
        assert bridge.process.poll() is None, "the bridge died"

        print(f"\nsent {TOTAL_LINES:,} lines in {len(packets):,} packets at {rate:,.0f} lines/s")
        assert rate >= MIN_RATE, f"sending rate {rate:,.0f} lines/s"
        assert result.value("statsd_bridge_udp_packets_total") == len(packets)
        assert result.value("statsd_bridge_lines_total") == TOTAL_LINES
        assert result.get("statsd_bridge_udp_kernel_drops_total", 0) == 0
        for key, total in work.counters.items():
            assert result.value(f"abuse_count_{key}_total") == total, key
        assert len(work.counters) == 50
        for shard, total in work.tagged.items():
            assert result.value("abuse_tagged_total", shard=shard) == total
        for shard, total in work.influx.items():
            assert result.value("abuse_influx_total", shard=shard) == total
        assert result.value("abuse_multi_total") == work.multi
        for key, last in work.gauges.items():
            assert result.value(f"abuse_gauge_{key}") == last
        assert result.value("abuse_level") == work.level
        assert result.value("abuse_level_high_water") == work.level_high
        name = "airflow_export_duration_seconds"
        cumulative = 0
        for bound, count in zip([*DURATION_BOUNDS, "+Inf"], work.duration_buckets, strict=True):
            cumulative += count
            le = "+Inf" if bound == "+Inf" else repr(float(bound))
            assert result.value(name + "_bucket", format="csv", le=le) == cumulative
        assert result.value(name + "_count", format="csv") == cumulative
        assert result.value(name + "_sum", format="csv") == pytest.approx(work.duration_sum, rel=1e-12)
        for reason in (
            "malformed_line",
            "malformed_value",
            "illegal_event",
            "not_enough_parts_after_colon",
            "invalid_sample_factor",
        ):
            assert result.value("statsd_bridge_sample_errors_total", reason=reason) == work.errors[reason], reason
        assert result.value("statsd_bridge_line_errors_total") == work.line_errors
        assert result.value("statsd_bridge_events_error_total", reason="too_long") == work.too_long > 0
        assert result.value("statsd_bridge_samples_total") == work.samples
        for kind in ("counter", "gauge", "observer"):
            assert result.value("statsd_bridge_events_total", type=kind) == work.events[kind], kind
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()


@pytest.mark.slow
def test_series_cap_holds_for_200000_distinct_names() -> None:
    distinct, cap = 200_000, 10_000
    packets = pack([b"cap.metric_%d:1|c" % i for i in range(distinct)])
    lines_per_packet = [packet.count(b"\n") + 1 for packet in packets]
    bridge = BridgeProcess("--no-mapping", "--max-unmapped-series", str(cap), "--log-level", "error")
    try:
        process = psutil.Process(bridge.process.pid)
        rss_start = process.memory_info().rss
        receive_buffer = int(scrape(bridge.url).value("statsd_bridge_udp_receive_buffer_bytes"))
        send_paced(bridge.statsd_port, packets, lines_per_packet, queue_limit=receive_buffer // 4)
        wait_for(lambda: scrape(bridge.url).value("statsd_bridge_lines_total") >= distinct, timeout=30, interval=0.2)
        result = scrape(bridge.url)
        rss_end = process.memory_info().rss
        print(f"\nRSS {rss_start / 2**20:.1f} MiB at start, {rss_end / 2**20:.1f} MiB after {distinct:,} names")
        assert result.value("statsd_bridge_lines_total") == distinct
        assert result.value("statsd_bridge_series", kind="unmapped") == cap
        assert result.value("statsd_bridge_series_dropped_total", kind="unmapped") == distinct - cap
        assert result.value("statsd_bridge_series_dropped_total", kind="mapped") == 0
        assert sum(1 for name, _ in result.samples if name.startswith("cap_metric_")) == cap
        assert result.value("cap_metric_0_total") == 1
        assert result.get("cap_metric_199999_total") is None
        # 10,000 small series, a bounded routing cache: growth stays far below one entry per name
        assert rss_end - rss_start < 64 * 1024 * 1024, f"RSS grew {(rss_end - rss_start) / 2**20:.1f} MiB"
        assert rss_end < 160 * 1024 * 1024, f"RSS {rss_end / 2**20:.1f} MiB"
        status, _ = bridge.stop()
        assert status == 0
    finally:
        bridge.kill()
