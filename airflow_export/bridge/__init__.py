"""StatsD -> Prometheus bridge (``airflow-export-bridge``), modelled on prometheus/statsd_exporter.

No Airflow import anywhere in this package: it runs next to Airflow, receives the StatsD lines
Airflow sends (``[metrics] statsd_host/statsd_port``) and serves them on ``/metrics``.

* :mod:`.line` - the StatsD line protocol (statsd_exporter ``pkg/line``); :mod:`.go_numbers` - Go number syntax.
* :mod:`.mapping` - statsd_exporter's mapping file: loading, validating, matching, name escaping
  (``pkg/mapper``).
* :mod:`.listener` - the UDP socket (``pkg/listener``).
* :mod:`.exporter` - samples to series: routing, budgets, event counters (``pkg/exporter``).
* :mod:`.registry`, :mod:`.series` - the bounded series storage and its exposition (``pkg/registry``).
* :mod:`.http` - ``/metrics``; :mod:`.self_metrics` - ``statsd_bridge_*``; :mod:`.log_limiter`.
* :mod:`.server` - :class:`Bridge`, the parts wired together; :mod:`.cli` - the command.

Design decisions: ``docs/adr/0010-bridge-series-budgets.md``, ``docs/adr/0011-own-bridge-statsd-exporter-format.md``.
"""

from __future__ import annotations

from airflow_export.bridge.line import LineParser, Sample
from airflow_export.bridge.mapping import Mapper, MappingConfig, MappingError
from airflow_export.bridge.server import Bridge

__all__ = ["Bridge", "LineParser", "Mapper", "MappingConfig", "MappingError", "Sample"]
