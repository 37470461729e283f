"""The Airflow plugin (entry point ``airflow.plugins``: ``airflow_export.plugin:AirflowExportPlugin``).

It mounts the ``/export`` API (:mod:`airflow_export.plugin.app`) in Airflow's API server and
registers the pool guard (:mod:`airflow_export.plugin.pool_guard`) as a scheduler listener and the
failure listener (:mod:`airflow_export.plugin.failures`) as a task-instance listener.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_export.plugin.app import app
from airflow_export.plugin.failures import export_failure_listener
from airflow_export.plugin.pool_guard import pool_guard_listener
from airflow_export.plugin.views import EXPORT_FILES_VIEW

__all__ = ["AirflowExportPlugin"]


class AirflowExportPlugin(AirflowPlugin):
    """Mounts the ``/export`` API in Airflow's API server, the "Export files" tab on DAG runs, and the pool
    guard in the scheduler."""

    name = "airflow_export"
    fastapi_apps = [{"app": app, "url_prefix": "/export", "name": "airflow-export"}]
    listeners = [pool_guard_listener, export_failure_listener]
    external_views = [EXPORT_FILES_VIEW]
