"""The ``/export`` API, a FastAPI app mounted in Airflow's API server.

Protected by Airflow's auth manager like the REST API: a request needs a JWT
(``Authorization: Bearer <token>`` from ``POST /auth/token``, or the UI's session cookie),
and the user must be allowed to read pools and task instances.

* ``GET /export/status``: ``export_pool``'s slots (total, open, running, queued, scheduled),
  the running export tasks, and the last exports (task, run, map index, state, path, records, bytes;
  for a failed one the reason and error); ``dag_id`` filters by DAG.
* ``GET /export/metrics``: the bridge's Prometheus exposition, passed through
  (``AIRFLOW_EXPORT_METRICS_URL``, default ``http://127.0.0.1:9102/metrics``).
* ``POST /export/requests`` and the status/download routes: :mod:`~airflow_export.plugin.requests`,
  :mod:`~airflow_export.plugin.downloads`; the "Export files" tab: :mod:`~airflow_export.plugin.views`.
"""

from __future__ import annotations

import math
import os
import urllib.error
import urllib.request
from typing import Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag, requires_access_pool
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import PlainTextResponse

from airflow_export.names import (
    EXPORT_OPERATORS,
    EXPORT_POOL,
    FAILURE_XCOM_KEY,
    METRICS_URL_DEFAULT,
    METRICS_URL_ENV,
)
from airflow_export.plugin import downloads, requests, views

#: Who may call the API: users allowed to read pools and task instances.
READ_ACCESS = [Depends(requires_access_pool("GET")), Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))]

app = FastAPI(title="airflow-export", description="Export status and metrics", version="1")
app.include_router(requests.router)
app.include_router(downloads.router)
app.include_router(views.router)


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and math.isinf(value) else value


def export_status(pool: str = EXPORT_POOL, last: int = 20, dag_id: str | None = None) -> dict[str, Any]:
    """The status document served at ``/export/status`` (reads Airflow's metadata DB).

    Each export is one task instance: mapped instances are listed one by one with their
    ``map_index`` (-1 when not mapped) and their own metadata; a failed export has its
    ``reason`` and ``error`` (the failure listener's XCom, else the task instance's note).

    :param pool: the pool to report.
    :param last: how many finished exports to list (newest first).
    :param dag_id: list only this DAG's exports (running and finished); None: all.
    :raises KeyError: the pool does not exist.
    """
    from airflow.models.pool import Pool
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        stats = Pool.slots_stats(session=session)
        if pool not in stats:
            raise KeyError(pool)
        slots = {k: _finite(v) for k, v in stats[pool].items()}
        exports = select(TaskInstance).where(TaskInstance.operator.in_(tuple(EXPORT_OPERATORS)))
        if dag_id is not None:
            exports = exports.where(TaskInstance.dag_id == dag_id)
        running = session.scalars(exports.where(TaskInstance.state == "running")).all()
        finished = session.scalars(
            exports.where(TaskInstance.state.in_(("success", "failed")))
            .order_by(TaskInstance.end_date.desc(), TaskInstance.map_index)
            .limit(last)
        ).all()
        listing = []
        for ti in finished:
            meta = _xcom(session, ti, "return_value") if ti.state == "success" else {}
            entry = {
                "dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index,
                "status": ti.state, "end_date": ti.end_date.isoformat() if ti.end_date else None,
                "path": meta.get("path"), "format": meta.get("format"), "records": meta.get("records"),
                "bytes": meta.get("bytes"), "duration_seconds": meta.get("duration_seconds"),
            }
            if ti.state == "failed":
                failure = _xcom(session, ti, FAILURE_XCOM_KEY)
                entry["reason"] = failure.get("reason")
                entry["error"] = failure.get("error") or ti.note
            listing.append(entry)
        return {
            "pool": {"name": pool, **slots},
            "running_exports": [
                {"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index,
                 "start_date": ti.start_date.isoformat() if ti.start_date else None}
                for ti in running
            ],
            "last_exports": listing,
        }


def _xcom(session: Any, ti: Any, key: str) -> dict[str, Any]:
    """The XCom ``key`` of exactly this task instance (its ``map_index`` too), if it is a mapping."""
    from airflow.models.xcom import XComModel

    row = session.scalars(
        XComModel.get_many(run_id=ti.run_id, key=key, task_ids=ti.task_id, dag_ids=ti.dag_id,
                           map_indexes=ti.map_index)
    ).first()
    value = XComModel.deserialize_value(row) if row is not None else None
    return value if isinstance(value, dict) else {}


@app.get("/status", dependencies=READ_ACCESS)
def status(
    pool: str = Query(EXPORT_POOL), last: int = Query(20, ge=1, le=500), dag_id: str | None = Query(None)
) -> dict[str, Any]:
    try:
        return export_status(pool, last, dag_id)
    except KeyError:
        raise HTTPException(status_code=404, detail=f"pool {pool!r} does not exist") from None


@app.get("/metrics", response_class=PlainTextResponse, dependencies=READ_ACCESS)
def metrics() -> PlainTextResponse:
    url = os.environ.get(METRICS_URL_ENV, METRICS_URL_DEFAULT)
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = resp.read()
            content_type = resp.headers.get("Content-Type", "text/plain; version=0.0.4")
    except (urllib.error.URLError, OSError) as exc:
        raise HTTPException(status_code=502, detail=f"metrics bridge at {url} unreachable: {exc}") from None
    return PlainTextResponse(body, media_type=content_type)
