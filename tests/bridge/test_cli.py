"""The real ``airflow-export-bridge`` command in a subprocess: ports, UDP in, HTTP out, signals."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest

from tests.bridge.support import (
    BRIDGE_COMMAND,
    MAPPING_FILE,
    BridgeProcess,
    send_udp,
    wait_for_packets,
)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_bridges_udp_to_http_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    bridge = BridgeProcess("--mapping", str(MAPPING_FILE), "--max-series", "500", "--max-series-per-rule", "50")
    try:
        assert bridge.first_line.startswith("bridge listening statsd=udp://127.0.0.1:")
        assert bridge.statsd_port > 0
        send_udp(
            bridge.statsd_port,
            b"airflow.export.duration.csv:320|ms",
            b"g:10|g\ng:+5|g\ng:-3|g\ng:7|g",
            b"a:1|c\nbad\nb:2|g",
            b"c:1|c|@0.1\ndog:1|c|#env:prod\ninflux,env=prod:2|c",
        )
        result = wait_for_packets(bridge.url, 4)
        name = "airflow_export_duration_seconds"
        assert result.value(name + "_bucket", format="csv", le="0.25") == 0
        assert result.value(name + "_bucket", format="csv", le="0.5") == 1
        assert result.value(name + "_bucket", format="csv", le="+Inf") == 1
        assert result.value(name + "_sum", format="csv") == 0.32
        assert (result.value("g"), result.value("g_high_water")) == (7, 15)
        assert (result.value("a_total"), result.value("b")) == (1, 2)
        assert result.value("statsd_bridge_sample_errors_total", reason="malformed_line") == 1
        assert result.value("c_total") == 10
        assert result.value("dog_total", env="prod") == 1
        assert result.value("influx_total", env="prod") == 2
        assert result.value("statsd_bridge_series_limit", kind="mapped") == 500  # --max-series: deprecated alias
        assert result.value("statsd_bridge_series_limit", kind="unmapped") == 1000
        assert result.value("statsd_bridge_rule_series_limit") == 50
        assert result.value("statsd_bridge_rule_series", rule="1", metric="airflow_export_duration_seconds") == 1
        bridge.process.send_signal(stop_signal)
        status, stderr = bridge.stop()
    finally:
        bridge.kill()
    assert status == 0
    assert f"received {stop_signal.name}, stopping" in stderr
    assert "bad StatsD line (malformed_line): 'bad'" in stderr
    assert stderr.rstrip().endswith("stopped")


def test_check_config_accepts_the_deploy_mapping() -> None:
    done = subprocess.run(
        [str(BRIDGE_COMMAND), "--check-config", "--mapping", str(MAPPING_FILE)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"mapping OK: 22 mappings in {MAPPING_FILE}\n"


def test_bad_mapping_file_fails_with_its_name(tmp_path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("mappings:\n- match: a.b\n  nmae: x\n", encoding="utf-8")
    done = subprocess.run([str(BRIDGE_COMMAND), "--mapping", str(bad)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"cannot load mapping: {bad}: mappings[0] (match 'a.b'): field 'nmae' not found" in done.stderr


def test_port_in_use_fails_with_status_1() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(BRIDGE_COMMAND), "--statsd-port", str(port), "--metrics-port", "0"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert "cannot listen:" in done.stderr
