"""``python -m airflow_export.validation``: table on stdout, exit 0 / 1 / 2."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from airflow_export.validation.cli import main
from tests.validation.expositions import exposition


@pytest.fixture
def metrics_url() -> Iterator[str]:
    body = exposition().encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != "/metrics":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_all_pass(metrics_url, capsys):
    assert main(["--url", metrics_url + "/metrics"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "assertion            result  value     threshold  detail"
    assert out[-1] == "6 of 6 assertions passed"


def test_file_failing_exits_1(tmp_path, capsys):
    path = tmp_path / "metrics.txt"
    path.write_text(exposition(running_high_water=6.0))
    assert main(["--file", str(path)]) == 1
    out = capsys.readouterr().out
    assert "max_concurrency      FAIL    6" in out
    assert out.splitlines()[-1] == "5 of 6 assertions passed"


def test_threshold_options(tmp_path, capsys):
    path = tmp_path / "metrics.txt"
    path.write_text(exposition(running_high_water=6.0))
    assert main(["--file", str(path), "--max-concurrency", "6"]) == 0
    assert "max_concurrency      PASS    6         <= 6" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "/nonexistent/metrics.txt"], "error: cannot read /nonexistent/metrics.txt"),
        (["--url", "http://127.0.0.1:9/metrics", "--timeout", "2"], "error: cannot read http://127.0.0.1:9/metrics"),
    ],
)
def test_unreadable_source_exits_2(args, message, capsys):
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(message)


def test_undecodable_file_and_bad_url_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.prom"
    bad.write_bytes(b"\xff\xfe bad")
    assert main(["--file", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {bad}: 'utf-8' codec can't decode byte 0xff")
    assert main(["--url", "notaurl"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read notaurl: unknown url type: 'notaurl'")


def test_url_404_exits_2(metrics_url, capsys):
    assert main(["--url", metrics_url + "/nope"]) == 2
    assert "HTTP Error 404" in capsys.readouterr().err


def test_bad_exposition_exits_2(tmp_path, capsys):
    path = tmp_path / "metrics.txt"
    path.write_text("x{ 1\n")
    assert main(["--file", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: cannot parse line 1: 'x{ 1'")


def test_module_entry_point(tmp_path):
    path = tmp_path / "metrics.txt"
    path.write_text(exposition(bytes_=0.0))
    done = subprocess.run(
        [sys.executable, "-m", "airflow_export.validation", "--file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "bytes_exported       FAIL    0" in done.stdout
    assert done.stdout.splitlines()[-1] == "5 of 6 assertions passed"
