"""A taken port is refused before the launcher creates or starts anything (issue 16, item 8)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from scripts.stack.ports import PortTakenError, free_port, refuse_taken_ports, tcp_port_taken
from tests.support.stack import launcher, read


class _HealthyAirflowLookalike(http.server.BaseHTTPRequestHandler):
    """Answers every request like a healthy Airflow would answer its health check; counts the requests."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (the name http.server dispatches to)
        self.requests.append(self.path)
        body = json.dumps({c: {"status": "healthy"} for c in ("metadatabase", "scheduler", "dag_processor")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815  (same)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def other_server() -> Iterator[tuple[int, list[str]]]:
    """Someone else's HTTP server on a port: (port, the paths it was asked for)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _HealthyAirflowLookalike)
    _HealthyAirflowLookalike.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _HealthyAirflowLookalike.requests
    finally:
        server.shutdown()
        server.server_close()


def test_a_listening_port_is_taken_and_a_closed_one_is_not():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert tcp_port_taken(port)
        with pytest.raises(PortTakenError, match=rf"port {port} \(api-server\) on 127.0.0.1 is already in use"):
            refuse_taken_ports({"bridge": free_port(), "api-server": port})
    assert not tcp_port_taken(port)
    refuse_taken_ports({"api-server": port})


@pytest.mark.parametrize("command", ["up", "demo"])
def test_launcher_refuses_a_taken_port_before_starting_anything(other_server, tmp_path, command):
    port, requests = other_server
    home = tmp_path / "home"
    proc = launcher(command, "--port", str(port), "--home", str(home), output=tmp_path)
    try:
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err = read(tmp_path / "stdout.txt"), read(tmp_path / "stderr.txt")
    assert code == 2, (out, err)
    assert f"port {port} (api-server) on 127.0.0.1 is already in use by another program; nothing was started" in err
    assert "--port" in err
    assert "Airflow is up" not in out
    assert not home.exists()  # no Airflow home, no database, no component
    assert requests == []  # nothing was asked of the other server (no health check, no login, no trigger)
