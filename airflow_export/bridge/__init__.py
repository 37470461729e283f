"""StatsD -> Prometheus bridge (``airflow-export-bridge``), modelled on prometheus/statsd_exporter.

No Airflow import anywhere in this package: it runs next to Airflow, receives the StatsD lines
Airflow sends (``[metrics] statsd_host/statsd_port``) and serves them on ``/metrics``.

* :mod:`.line_parser` - the StatsD line protocol (DogStatsD, InfluxDB, Librato, SignalFx tags).
* :mod:`.escape` - Prometheus name escaping (statsd_exporter's ``EscapeMetricName``).
* :mod:`.mapping_config` - loading and validating statsd_exporter's mapping YAML.
* :mod:`.mapping` - matching names against it (glob/regex, ``$n`` templates, drop).
* :mod:`.registry` - series storage in two capped budgets (mapped, unmapped) and the Prometheus
  exposition (with ``_high_water``).
* :mod:`.server` - :class:`Bridge`: UDP listener, routing, self-metrics (:mod:`.self_metrics`),
  HTTP ``/metrics`` (:mod:`.http_endpoint`), rate-limited warnings (:mod:`.log_limiter`).
* :mod:`.cli` - the ``airflow-export-bridge`` command.
"""

from __future__ import annotations

from airflow_export.bridge.line_parser import LineParser, Sample
from airflow_export.bridge.mapping import Mapper, MappingConfig, MappingError
from airflow_export.bridge.server import Bridge

__all__ = ["Bridge", "LineParser", "Mapper", "MappingConfig", "MappingError", "Sample"]
