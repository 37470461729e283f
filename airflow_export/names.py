"""The names every part of airflow-export shares: one home, imported everywhere.

Operators, the plugin, the pool guard, the metrics, the validation DAG and the launcher
take these from here; nothing else defines them. Pure constants: importing this module
imports no Airflow.
"""

from __future__ import annotations

#: The Airflow pool every export runs in; its slots, not our code, bound concurrency.
EXPORT_POOL = "export_pool"
#: The pool's size in the demo and the tests (``airflow pools set export_pool 5 ...``).
EXPORT_POOL_SLOTS = 5

#: The operator class names, mapped to the file format each writes.
EXPORT_OPERATORS: dict[str, str] = {"ExportCsvOperator": "csv", "ExportPdfOperator": "pdf"}
#: The export formats.
FORMATS = ("csv", "pdf")

#: Why an export failed: the ``reason`` label of ``airflow_export_failures_total``.
FAILURE_REASONS = ("source_error", "write_error", "invalid_input", "timeout", "cancelled")
#: The ``status`` label of ``airflow_export_requests_total`` (``rejected``: refused with HTTP 429, never run).
STATUSES = ("success", "failed", "rejected")
#: XCom key of a failed export's ``{"reason": ..., "error": ...}`` (read by ``/export/status``).
FAILURE_XCOM_KEY = "export_failure"

#: Where the bridge serves Prometheus metrics by default (``AIRFLOW_EXPORT_METRICS_URL`` overrides).
METRICS_URL_ENV = "AIRFLOW_EXPORT_METRICS_URL"
METRICS_URL_DEFAULT = "http://127.0.0.1:9102/metrics"
#: The bridge's default StatsD (UDP) and HTTP ports, those of statsd_exporter.
STATSD_PORT_DEFAULT = 9125
METRICS_PORT_DEFAULT = 9102

#: The export root: ``AIRFLOW_EXPORT_ROOT``, else ``[export] root``, else ``$AIRFLOW_HOME/exports``.
EXPORT_ROOT_ENV = "AIRFLOW_EXPORT_ROOT"
#: The Airflow connection of an object-storage export root (``s3://bucket/prefix``): this variable, else
#: ``[export] root_conn_id`` (ADR 0065).
EXPORT_ROOT_CONN_ENV = "AIRFLOW_EXPORT_ROOT_CONN_ID"
#: Set per Celery worker (its name, e.g. ``w1``); an export reports it as ``worker`` in its XCom.
WORKER_ENV = "AIRFLOW_EXPORT_WORKER"
CONFIG_SECTION = "export"
