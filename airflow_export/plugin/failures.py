"""The failure listener: every failed export attempt is counted and its reason kept (ADR 0057).

A task-instance listener (registered by :class:`airflow_export.plugin.AirflowExportPlugin`; Airflow
calls it in the task process after a try ends). For a failed (or up-for-retry) try of an export
task it:

* counts the failure in the export metrics when ``execute`` did not (the try failed before it:
  a template error in ``output_path``, a bad rendered value), with reason ``invalid_input``;
* pushes ``{"reason": ..., "error": "<type>: <message>"}`` as the XCom :data:`FAILURE_XCOM_KEY`,
  which ``/export/status`` lists for the failed export.

``execute`` records the reason it counted in the operator's ``failure_reason`` attribute; its
absence tells this listener that the try failed before ``execute``.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

from airflow_export import metrics
from airflow_export.names import FAILURE_XCOM_KEY, FORMATS

log = logging.getLogger(__name__)

#: Longest error text kept in the XCom (the task log has the whole traceback).
ERROR_LIMIT = 500
#: The reason of a failure before ``execute``: the task's arguments could not be rendered or used.
BEFORE_EXECUTE_REASON = "invalid_input"


def record_failure(task: Any, error: BaseException | str | None) -> dict[str, str] | None:
    """Count a failed try of ``task`` if ``execute`` did not, and return the failure record
    (None if ``task`` is not an export).
    """
    fmt = getattr(task, "export_format", None)
    if fmt not in FORMATS:
        return None
    reason = getattr(task, "failure_reason", None)
    if reason is None:
        reason = BEFORE_EXECUTE_REASON
        metrics.export_refused(fmt, reason)
        task.failure_reason = reason
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error or "")
    return {"reason": reason, "error": text[:ERROR_LIMIT]}


class ExportFailureListener:
    """The task-instance listener (see the module)."""

    @hookimpl
    def on_task_instance_failed(self, previous_state: Any, task_instance: Any, error: Any) -> None:
        task = getattr(task_instance, "task", None)
        if task is None:
            return
        record = record_failure(task, error)
        if record is None:
            return
        try:
            task_instance.xcom_push(key=FAILURE_XCOM_KEY, value=record)
        except Exception:  # the failure is counted; only the status detail is lost
            log.exception("could not store the failure reason of %s", getattr(task_instance, "task_id", "?"))


export_failure_listener = ExportFailureListener()
