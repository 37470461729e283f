"""Admission control for ``POST /export/requests``: refuse work with 429 when ``export_pool``'s backlog is full
(ADR 0060).

The backlog is what waits for the pool, counted in export task instances:

* export task instances in ``scheduled``, ``queued``, ``up_for_retry`` or ``up_for_reschedule``;
* plus every queued or running run of an export DAG none of whose export tasks has got that far yet
  (its export task instances are all still without a state, or skipped): the run was admitted but has
  not reached the pool. A run counts once here, even when a branch leaves one of two exports to run.

An *export task instance* is one of our operators (``TaskInstance.operator``) or any task in
``export_pool``. At or above ``[export] max_queue_depth`` (``AIRFLOW__EXPORT__MAX_QUEUE_DEPTH``,
default 100) a request is refused.

Race safety: the check and the new run are one transaction that first takes a write lock on
``export_pool``'s row (``UPDATE slot_pool SET slots = slots``: a row lock on PostgreSQL/MySQL, the
database's write lock on SQLite), and one API-server process checks one request at a time. So two
requests never both see the last free place: the backlog made by admitted requests never exceeds
the limit (margin 0). What admission does not control (runs triggered elsewhere, retries) adds on top.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from airflow_export.names import CONFIG_SECTION, EXPORT_OPERATORS, EXPORT_POOL

#: ``[export] max_queue_depth`` when not configured.
DEFAULT_MAX_QUEUE_DEPTH = 100
#: Seconds assumed for one export when none has finished yet.
DEFAULT_EXPORT_SECONDS = 10.0
#: How many recent successful exports the duration estimate averages.
RECENT_EXPORTS = 20
#: Retry-After never exceeds this (seconds): a client should look again within 10 minutes.
MAX_RETRY_AFTER = 600

#: Task instance states that wait for a slot of the pool.
WAITING_STATES = ("scheduled", "queued", "up_for_retry", "up_for_reschedule")
#: States an export task instance of an admitted run can have before it reaches the pool (None: not yet scheduled).
NOT_STARTED_STATES = ("skipped", "removed", "upstream_failed")

#: One admission at a time in this process (the database lock serialises processes).
ADMISSION_LOCK = threading.Lock()


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused.

    :param queue_depth: the backlog counted (export task instances).
    :param limit: ``[export] max_queue_depth``.
    :param retry_after: seconds to wait before asking again (>= 1).
    """

    queue_depth: int
    limit: int
    retry_after: int

    def body(self) -> dict[str, Any]:
        """The JSON body of the 429 answer."""
        return {
            "detail": f"{EXPORT_POOL} is full: {self.queue_depth} exports wait, the limit is {self.limit} "
                      f"([{CONFIG_SECTION}] max_queue_depth); retry after {self.retry_after} s",
            "queue_depth": self.queue_depth, "limit": self.limit, "retry_after": self.retry_after,
        }


def max_queue_depth() -> int:
    """``[export] max_queue_depth`` (default 100).

    :raises ValueError: not an integer, or below 1.
    """
    from airflow.configuration import conf

    value = conf.getint(CONFIG_SECTION, "max_queue_depth", fallback=DEFAULT_MAX_QUEUE_DEPTH)
    if value < 1:
        raise ValueError(f"[{CONFIG_SECTION}] max_queue_depth must be at least 1, got {value}")
    return value


def retry_after_seconds(queue_depth: int, limit: int, slots: int, export_seconds: float) -> int:
    """Seconds until the backlog has likely drained below ``limit``: the exports above the limit
    (and one more, to make room) run ``slots`` at a time, each taking ``export_seconds``.

    :return: an integer in [1, :data:`MAX_RETRY_AFTER`].
    """
    excess = max(1, queue_depth - limit + 1)
    seconds = math.ceil(excess / max(1, slots)) * max(0.0, export_seconds)
    return int(min(MAX_RETRY_AFTER, max(1, math.ceil(seconds))))


def _is_export_ti() -> Any:
    from airflow.models.taskinstance import TaskInstance as TI
    from sqlalchemy import or_

    return or_(TI.operator.in_(tuple(EXPORT_OPERATORS)), TI.pool == EXPORT_POOL)


def queue_depth(session: Any) -> int:
    """The backlog of ``export_pool`` as the module docstring defines it (two counting queries)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from sqlalchemy import and_, exists, func, select

    export_ti = _is_export_ti()
    waiting = session.scalar(select(func.count()).select_from(TI).where(export_ti, TI.state.in_(WAITING_STATES)))
    of_run = and_(TI.dag_id == DagRun.dag_id, TI.run_id == DagRun.run_id, export_ti)
    not_reached = session.scalar(select(func.count()).select_from(DagRun).where(
        DagRun.state.in_(("queued", "running")),
        exists().where(of_run, TI.state.is_(None)),
        ~exists().where(of_run, TI.state.is_not(None), TI.state.not_in(NOT_STARTED_STATES)),
    ))
    return int(waiting or 0) + int(not_reached or 0)


def lock_pool_row(session: Any) -> None:
    """Take the write lock that serialises admissions across processes (held until the transaction ends)."""
    from airflow.models.pool import Pool
    from sqlalchemy import update

    session.execute(update(Pool).where(Pool.pool == EXPORT_POOL).values(slots=Pool.slots))


def recent_export_seconds(session: Any) -> float:
    """Mean duration of the last :data:`RECENT_EXPORTS` successful export task instances (default 10 s)."""
    from airflow.models.taskinstance import TaskInstance as TI
    from sqlalchemy import select

    durations = session.scalars(
        select(TI.duration).where(_is_export_ti(), TI.state == "success", TI.duration.is_not(None))
        .order_by(TI.end_date.desc()).limit(RECENT_EXPORTS)
    ).all()
    return sum(durations) / len(durations) if durations else DEFAULT_EXPORT_SECONDS


def check(session: Any) -> Refusal | None:
    """None when one more request fits under the limit, else the :class:`Refusal` (call under the locks)."""
    from airflow.models.pool import Pool
    from sqlalchemy import select

    limit = max_queue_depth()
    depth = queue_depth(session)
    if depth < limit:
        return None
    slots = session.scalar(select(Pool.slots).where(Pool.pool == EXPORT_POOL))
    slots = int(slots) if slots and slots > 0 else 1
    return Refusal(depth, limit, retry_after_seconds(depth, limit, slots, recent_export_seconds(session)))
