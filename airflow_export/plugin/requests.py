"""``POST /export/requests``: ask for an export over HTTP (ADR 0060, 0061).

JSON body ``{"dag_id": "export_single", "conf": {...}}`` (``dag_id`` defaults to ``export_single``).
In order:

1. the auth manager decides whether the user may trigger that DAG (401 without a valid token, 403 without
   the permission), as for Airflow's own ``POST /api/v2/dags/{dag_id}/dagRuns``;
2. only a DAG with export tasks may be requested (404 naming the reason otherwise);
3. with an ``Idempotency-Key`` header, a request already made by the same user for the same DAG with
   that key answers 200 with that run (409 if its conf differs): never a second export;
4. admission control (:mod:`airflow_export.plugin.admission`): 429 with ``Retry-After`` when the
   backlog of ``export_pool`` is at ``[export] max_queue_depth``; counted as
   ``airflow_export_requests_total{status="rejected"}``;
5. the run is created by Airflow's own trigger route (``trigger_dag_run``): the DAG's Params validate
   ``conf`` (400 with the schema's message, no run), the run shows in the UI as triggered by the user.

Answer: 202, ``Location`` = the status URL, JSON ``{dag_id, run_id, state, status_url}``. A busy metadata
database (SQLite's lock) answers 503 with ``Retry-After: 1``; nothing was created then.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError

from airflow_export import metrics
from airflow_export.names import FORMATS
from airflow_export.plugin import admission
from airflow_export.plugin.pool_guard import task_uses

router = APIRouter()

#: The DAG a request without ``dag_id`` asks for.
DEFAULT_DAG = "export_single"
#: Prefix of the run ids of requests made with an ``Idempotency-Key``.
IDEMPOTENT_RUN_PREFIX = "request__"


class ExportRequest(BaseModel):
    """The body of ``POST /export/requests``."""

    model_config = ConfigDict(extra="forbid")

    dag_id: str = Field(DEFAULT_DAG, min_length=1, max_length=250)
    conf: dict[str, Any] = Field(default_factory=dict)


@cache
def dag_bag() -> Any:
    """The API server's kind of DAG bag (serialized DAGs from the DB, cached), made once per process."""
    from airflow.api_fastapi.common.dagbag import create_dag_bag

    return create_dag_bag()


def export_dag(dag_id: str, session: Any) -> Any:
    """The latest serialized DAG ``dag_id``, if it has export tasks.

    :raises HTTPException: 404 when there is no such DAG or it has no export task.
    """
    dag = dag_bag().get_latest_version_of_dag(dag_id, session=session)
    if dag is None:
        raise HTTPException(404, f"DAG {dag_id!r} not found")
    if not any(use.is_export for use in task_uses(dag)):
        raise HTTPException(404, f"DAG {dag_id!r} has no export task (ExportCsvOperator, ExportPdfOperator or a "
                                 f"task in export_pool): only export DAGs can be requested here")
    return dag


def idempotent_run_id(user_id: str, dag_id: str, key: str) -> str:
    """The run id of a request with an ``Idempotency-Key``: the same user, DAG and key give the same id."""
    digest = hashlib.sha256("\0".join((user_id, dag_id, key)).encode()).hexdigest()[:32]
    return IDEMPOTENT_RUN_PREFIX + digest


def status_url(request: Request, dag_id: str, run_id: str) -> str:
    """The absolute URL of ``GET /export/requests/{dag_id}/{run_id}``."""
    return str(request.url_for("export_request_status", dag_id=dag_id, run_id=run_id))


def describe(request: Request, dag_id: str, run_id: str, state: Any) -> dict[str, Any]:
    """The JSON answer for a run: dag_id, run_id, state, status_url."""
    return {"dag_id": dag_id, "run_id": run_id, "state": str(getattr(state, "value", state)),
            "status_url": status_url(request, dag_id, run_id)}


def _count_rejection(conf: dict[str, Any]) -> None:
    fmt = conf.get("format")
    metrics.request_rejected(fmt if fmt in FORMATS else "any")


@router.post("/requests", status_code=202, responses={
    200: {"description": "a request with this Idempotency-Key was made before: its run"},
    400: {"description": "conf does not match the DAG's Params"}, 401: {}, 403: {},
    404: {"description": "no such DAG, or it has no export task"},
    409: {"description": "the Idempotency-Key was used with another conf"},
    429: {"description": "export_pool's backlog is full; see Retry-After"},
})
def create_request(
    body: ExportRequest, request: Request, response: Response, user: GetUserDep,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", min_length=1, max_length=200),
) -> Any:
    """Trigger an export DAG (see the module docstring)."""
    requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=body.dag_id)(request, user)
    dag_id = body.dag_id
    run_id = idempotent_run_id(str(user.get_id()), dag_id, idempotency_key) if idempotency_key else None
    try:
        return _admit_and_trigger(body, request, response, user, dag_id, run_id, idempotency_key)
    except OperationalError as exc:  # e.g. SQLite "database is locked": rolled back, nothing was created
        return JSONResponse({"detail": f"the metadata database is busy, retry: {exc.orig}"}, status_code=503,
                            headers={"Retry-After": "1"})


def _admit_and_trigger(body: ExportRequest, request: Request, response: Response, user: Any, dag_id: str,
                       run_id: str | None, idempotency_key: str | None) -> Any:
    from airflow.api_fastapi.core_api.datamodels.dag_run import TriggerDAGRunPostBody
    from airflow.api_fastapi.core_api.routes.public.dag_run import trigger_dag_run
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    refusal = None
    with admission.ADMISSION_LOCK, create_session() as session:
        export_dag(dag_id, session)
        admission.lock_pool_row(session)
        if run_id is not None:
            earlier = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
            if earlier is not None:
                if (earlier.conf or {}) != body.conf:
                    raise HTTPException(409, f"Idempotency-Key {idempotency_key!r} was used for run {run_id} "
                                             f"with another conf: {earlier.conf}")
                response.status_code = 200
                response.headers["Location"] = status_url(request, dag_id, run_id)
                return describe(request, dag_id, run_id, earlier.state)
        refusal = admission.check(session)
        if refusal is None:
            trigger = TriggerDAGRunPostBody(dag_run_id=run_id, logical_date=None, conf=body.conf)
            run: Any = trigger_dag_run(dag_id, trigger, dag_bag(), user, session, request)  # a DagRun
            answer = describe(request, dag_id, run.run_id, run.state)
    if refusal is not None:
        _count_rejection(body.conf)
        return JSONResponse(refusal.body(), status_code=429, headers={"Retry-After": str(refusal.retry_after)})
    response.headers["Location"] = answer["status_url"]
    return answer

