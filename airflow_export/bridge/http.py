"""The HTTP side of the bridge: ``/metrics`` in the Prometheus text format 0.0.4.

The text format (not OpenMetrics) is served whatever the ``Accept`` header says, as
statsd_exporter's default; the body comes from prometheus-client's ``generate_latest``.
"""

from __future__ import annotations

import gzip
import logging
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

__all__ = ["MetricsHTTPServer", "MetricsHandler", "bind_metrics_server", "format_host", "format_listening_line"]

log = logging.getLogger("airflow_export.bridge")

_LANDING_PAGE = (
    b"<html><head><title>airflow-export-bridge</title></head><body>"
    b"<h1>airflow-export-bridge</h1><p><a href='/metrics'>Metrics</a></p></body></html>\n"
)


def format_host(host: str) -> str:
    """``host`` as it goes in a URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


def format_listening_line(statsd_host: str, statsd_port: int, metrics_host: str, metrics_port: int) -> str:
    """The machine-readable start line the CLI prints.

    :returns: e.g. ``"bridge listening statsd=udp://127.0.0.1:9125 metrics=http://127.0.0.1:9102/metrics"``.
    """
    return (
        f"bridge listening statsd=udp://{format_host(statsd_host)}:{statsd_port} "
        f"metrics=http://{format_host(metrics_host)}:{metrics_port}/metrics"
    )


class MetricsHandler(BaseHTTPRequestHandler):
    """``GET /metrics`` (text format 0.0.4, gzip if accepted), ``/``, ``/-/healthy``, ``/-/ready``; 404 otherwise."""

    server: MetricsHTTPServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                body = generate_latest(self.server.registry)
            except Exception:  # pragma: no cover - defensive: never kill the server thread
                log.exception("exposition failed")
                self._send(500, b"exposition failed\n", "text/plain; charset=utf-8")
                return
            self._send(200, body, CONTENT_TYPE_PLAIN_0_0_4)
        elif path == "/":
            self._send(200, _LANDING_PAGE, "text/html; charset=utf-8")
        elif path in ("/-/healthy", "/-/ready"):
            self._send(200, b"OK\n", "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        gzipped = "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1024
        if gzipped:
            body = gzip.compress(body, compresslevel=5)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server signature
        log.debug("http %s " + format, self.client_address[0], *args)


class MetricsHTTPServer(ThreadingHTTPServer):
    """Threaded HTTP server serving :attr:`registry` (set it before ``serve_forever``)."""

    daemon_threads = True
    allow_reuse_address = True
    registry: CollectorRegistry


def bind_metrics_server(host: str, port: int, registry: CollectorRegistry) -> MetricsHTTPServer:
    """Bind the ``/metrics`` server (IPv4 or IPv6 after ``host``); serve it with ``serve_forever()``.

    :param host: address to bind.
    :param port: port to bind, 0 for a free one (the bound one is ``server.server_address[1]``).
    :param registry: what ``/metrics`` exposes.
    :returns: the bound server.
    :raises OSError: the address cannot be bound.
    """
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type("_BoundHTTPServer", (MetricsHTTPServer,), {"address_family": family})
    server = server_class((host, port), MetricsHandler)
    server.registry = registry
    return server
