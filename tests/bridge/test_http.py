"""The ``/metrics`` endpoint on its own: any registry, gzip when asked, the start line's URL forms."""

from __future__ import annotations

import gzip
import threading
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter

from airflow_export.bridge.http import MetricsHTTPServer, bind_metrics_server, format_host, format_listening_line


@pytest.fixture
def server() -> Iterator[MetricsHTTPServer]:
    registry = CollectorRegistry(auto_describe=False)
    counter = Counter("big", "A counter with many label values.", ["n"], registry=registry)
    for n in range(100):
        counter.labels(n=str(n)).inc()
    bound = bind_metrics_server("127.0.0.1", 0, registry)
    thread = threading.Thread(target=bound.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield bound
    bound.shutdown()
    bound.server_close()
    thread.join(5)


def _get(server: MetricsHTTPServer, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        return response.status, dict(response.headers), response.read()


def test_metrics_plain_and_gzipped_are_the_same_text(server: MetricsHTTPServer) -> None:
    status, headers, body = _get(server, "/metrics")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert "Content-Encoding" not in headers
    assert b'big_total{n="99"} 1.0' in body
    status, headers, zipped = _get(server, "/metrics?x=1", **{"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert gzip.decompress(zipped) == body


def test_landing_page_and_health(server: MetricsHTTPServer) -> None:
    status, headers, body = _get(server, "/")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert b"<a href='/metrics'>Metrics</a>" in body
    assert _get(server, "/-/ready")[2] == b"OK\n"


@pytest.mark.parametrize(
    ("statsd_host", "metrics_host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1", "bridge listening statsd=udp://127.0.0.1:1 metrics=http://127.0.0.1:2/metrics"),
        ("::1", "::", "bridge listening statsd=udp://[::1]:1 metrics=http://[::]:2/metrics"),
        ("localhost", "0.0.0.0", "bridge listening statsd=udp://localhost:1 metrics=http://0.0.0.0:2/metrics"),
    ],
)
def test_listening_line(statsd_host: str, metrics_host: str, expected: str) -> None:
    assert format_listening_line(statsd_host, 1, metrics_host, 2) == expected
    assert format_host(statsd_host) in expected
