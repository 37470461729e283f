"""The bridge: the StatsD listener, the exporter and the ``/metrics`` endpoint wired together.

Each UDP datagram (:mod:`.listener`) is split into lines, which the exporter (:mod:`.exporter`)
parses (:mod:`.line`), maps (:mod:`.mapping`) and applies to the series (:mod:`.registry`);
``GET /metrics`` (:mod:`.http`) serves them with the self-metrics (:mod:`.self_metrics`) and
prometheus-client's process metrics in the Prometheus text format 0.0.4.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from airflow_export.bridge.exporter import Exporter
from airflow_export.bridge.http import MetricsHTTPServer, bind_metrics_server, format_host, format_listening_line
from airflow_export.bridge.line import LineParser
from airflow_export.bridge.listener import UDPListener, split_datagram
from airflow_export.bridge.log_limiter import RateLimitedLog
from airflow_export.bridge.mapping import MappingConfig
from airflow_export.bridge.registry import MAPPED, UNMAPPED, SeriesRegistry
from airflow_export.bridge.self_metrics import exposed_names, self_metrics
from airflow_export.names import METRICS_PORT_DEFAULT, STATSD_PORT_DEFAULT

__all__ = ["Bridge"]

log = logging.getLogger("airflow_export.bridge")

#: Longest line shown in a bad-line warning (characters).
_SHOWN_LINE = 200


class _Collector(Collector):
    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    def collect(self) -> list[Metric]:
        return self._bridge.collect()


class Bridge:
    """A StatsD (UDP) to Prometheus (HTTP ``/metrics``) bridge, usable in-process or from the CLI.

    ``start()`` binds both sockets (port 0 picks a free port; read the bound ones from
    :attr:`statsd_port` and :attr:`metrics_port`) and starts two daemon threads; ``stop()``
    closes them. Also a context manager. :meth:`handle_packet` processes one datagram directly
    (no socket needed) and :meth:`exposition` renders ``/metrics``, for tests.

    :param statsd_host: UDP address to listen on (default loopback).
    :param statsd_port: UDP port, 0 for a free one.
    :param metrics_host: HTTP address to listen on (default loopback).
    :param metrics_port: HTTP port, 0 for a free one.
    :param mapping: a :class:`MappingConfig`, a path to a mapping YAML file, or ``None`` (no mappings).
    :param max_mapped_series: the most series created by samples a mapping rule matched, all rules together.
    :param max_unmapped_series: the most series created by samples no rule matched, named by
        statsd_exporter's default escaping.
    :param max_series: deprecated alias of ``max_mapped_series`` (wins when given).
    :param max_series_per_rule: the most series one mapping rule may create, within ``max_mapped_series``.
    :param route_cache_size: routing cache entries before it is cleared; the mapper's own cache has the same size.
    :param max_key_length: longest StatsD name plus tag keys and values (characters) accepted;
        longer samples are refused (``statsd_bridge_events_error_total{reason="too_long"}``).
    :param read_buffer_bytes: ``SO_RCVBUF`` asked for the UDP socket (bytes); 0 keeps the system default.
    :param dogstatsd_tags: parse DogStatsD ``|#k:v`` tags.
    :param influxdb_tags: parse InfluxDB ``name,k=v`` tags.
    :param librato_tags: parse Librato ``name#k=v`` tags.
    :param signalfx_tags: parse SignalFx ``name[k=v]`` tags.
    :raises MappingError: invalid mapping file.
    :raises ValueError: a negative series budget.
    """

    def __init__(
        self,
        *,
        statsd_host: str = "127.0.0.1",
        statsd_port: int = STATSD_PORT_DEFAULT,
        metrics_host: str = "127.0.0.1",
        metrics_port: int = METRICS_PORT_DEFAULT,
        mapping: MappingConfig | str | os.PathLike[str] | None = None,
        max_mapped_series: int = 10000,
        max_unmapped_series: int = 1000,
        max_series: int | None = None,
        max_series_per_rule: int = 500,
        route_cache_size: int = 20000,
        max_key_length: int = 1024,
        read_buffer_bytes: int = 32 * 1024 * 1024,
        dogstatsd_tags: bool = True,
        influxdb_tags: bool = True,
        librato_tags: bool = True,
        signalfx_tags: bool = True,
    ) -> None:
        if mapping is None:
            config = MappingConfig()
        elif isinstance(mapping, MappingConfig):
            config = mapping
        else:
            config = MappingConfig.from_file(mapping)
        for warning in config.warnings:
            log.warning("mapping %s: %s", config.source, warning)
        self.config = config
        self.statsd_host = statsd_host
        self.metrics_host = metrics_host
        self._requested_metrics_port = metrics_port
        self.metrics_port = metrics_port

        self._bad_line_log = RateLimitedLog(log)
        parser = LineParser(
            dogstatsd_tags=dogstatsd_tags,
            influxdb_tags=influxdb_tags,
            librato_tags=librato_tags,
            signalfx_tags=signalfx_tags,
            on_error=self._on_bad_line,
        )
        self._process = ProcessCollector(registry=None)
        #: where samples become series; holds the event counters
        self.exporter = Exporter(
            config,
            parser,
            self._bad_line_log,
            max_mapped_series=max_series if max_series is not None else max_mapped_series,
            max_unmapped_series=max_unmapped_series,
            max_series_per_rule=max_series_per_rule,
            route_cache_size=route_cache_size,
            max_key_length=max_key_length,
            reserved_names=exposed_names(self._process),
        )
        self._listener = UDPListener(statsd_host, statsd_port, self.handle_packet, read_buffer_bytes)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))
        self._http: MetricsHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Bridge:
        """Bind the UDP and HTTP sockets and start serving.

        :returns: ``self``.
        :raises OSError: an address cannot be bound (nothing is left open).
        :raises RuntimeError: already started.
        """
        if self._listener.bound:
            raise RuntimeError("bridge already started")
        try:
            self._listener.bind()
            self._http = bind_metrics_server(self.metrics_host, self._requested_metrics_port, self.registry)
        except BaseException:
            self._close_sockets()
            raise
        self.metrics_port = self._http.server_address[1]
        http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.2}, name="statsd-bridge-http", daemon=True
        )
        self._threads = [self._listener.start(), http_thread]
        http_thread.start()
        series = self.exporter.series
        log.info(
            "%s (mappings=%d, max series: mapped=%d unmapped=%d per rule=%d, receive buffer=%d bytes)",
            self.listening_line,
            len(self.config.mappings),
            series.limits[MAPPED],
            series.limits[UNMAPPED],
            series.max_per_rule or 0,
            self._listener.receive_buffer_bytes,
        )
        note = self.exporter.budget_note()
        if note is not None:
            log.info("%s", note)
        return self

    def stop(self) -> None:
        """Stop both listeners and close the sockets; safe to call twice. Data stays readable."""
        if self._http is not None:
            self._http.shutdown()
        self._listener.stop()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads = []
        self._close_sockets()

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _close_sockets(self) -> None:
        if self._http is not None:
            self._http.server_close()
            self._http = None
        self._listener.close()

    @property
    def statsd_port(self) -> int:
        """The StatsD (UDP) port: the bound one once started, else the one asked for."""
        return self._listener.port

    @property
    def listening_line(self) -> str:
        """``bridge listening statsd=udp://HOST:PORT metrics=http://HOST:PORT/metrics`` (bound ports)."""
        return format_listening_line(self.statsd_host, self.statsd_port, self.metrics_host, self.metrics_port)

    @property
    def metrics_url(self) -> str:
        """``http://HOST:PORT/metrics`` with the bound port."""
        return f"http://{format_host(self.metrics_host)}:{self.metrics_port}/metrics"

    # -- datagrams --------------------------------------------------------------------------
    def _on_bad_line(self, reason: str, line: str) -> None:
        shown = line if len(line) <= _SHOWN_LINE else line[:_SHOWN_LINE] + f"... ({len(line)} chars)"
        self._bad_line_log.warning("bad StatsD line (%s): %r", reason, shown)

    def handle_packet(self, data: bytes) -> None:
        """Process one datagram: split on ``\\n``, parse, map and apply every line.

        Thread-safe. Lines that are not valid UTF-8 are ``malformed_line`` errors; every
        other line is handled as :meth:`LineParser.parse` describes.

        :param data: the datagram payload.
        """
        self.exporter.handle_lines(*split_datagram(data))

    # -- exposition -------------------------------------------------------------------------
    @property
    def series_count(self) -> int:
        """Bridged series currently held (self-metrics and process metrics not included)."""
        return self.exporter.series.series_count

    @property
    def parser(self) -> LineParser:
        """The line parser (its counters feed the self-metrics)."""
        return self.exporter.parser

    @property
    def series(self) -> SeriesRegistry:
        """The bridged series."""
        return self.exporter.series

    @property
    def receive_buffer_bytes(self) -> int:
        """``SO_RCVBUF`` of the StatsD socket as the kernel reports it (0 before :meth:`start`)."""
        return self._listener.receive_buffer_bytes

    def collect(self) -> list[Metric]:
        """Every metric family to expose: bridged series, self-metrics, process metrics.

        :returns: prometheus-client :class:`Metric` objects.
        """
        kernel = self._listener.kernel_stats()
        exporter = self.exporter
        with exporter.lock:
            families = exporter.series.collect(time.monotonic())
            families.extend(
                self_metrics(exporter, self._listener.internal_errors, self._listener.receive_buffer_bytes, kernel)
            )
        with contextlib.suppress(Exception):  # /proc unreadable: no process metrics
            families.extend(self._process.collect())
        return families

    def exposition(self) -> str:
        """The ``/metrics`` text (Prometheus text format 0.0.4), without HTTP."""
        return generate_latest(self.registry).decode("utf-8")
