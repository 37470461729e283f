"""The pool guard: fail export tasks at once when their pool can never run them (ADR 0021).

A scheduler listener (registered by :class:`airflow_export.plugin.AirflowExportPlugin`). When a
DAG run starts (``on_dag_run_running`` with ``msg="started"``, inside the scheduler's own
transaction) it checks the run's export tasks against the ``slot_pool`` table; for each task
whose pool does not exist, or is smaller than its ``pool_slots``, it:

* sets the task's unfinished task instances of that run to ``failed`` (no retry);
* writes the reason as the task instance's note and logs it in the scheduler log at ERROR;
* counts it in the export metrics: ``export.requests.<format>.failed`` and
  ``export.failures.invalid_input``.

A pool of size 0 (paused) is left alone; a pool of size -1 (unlimited) fits every task.

``[export] pool_guard`` (env ``AIRFLOW__EXPORT__POOL_GUARD``) sets which tasks are checked:
``exports`` (default: the export operators, their subclasses, and any task in ``export_pool``),
``all`` (every task), or ``off``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow.listeners import hookimpl

from airflow_export import metrics
from airflow_export.names import CONFIG_SECTION, EXPORT_OPERATORS, EXPORT_POOL

log = logging.getLogger(__name__)

SCOPES = ("exports", "all", "off")
#: Template fields every export operator (and subclass) has.
EXPORT_TEMPLATE_FIELDS = frozenset({"output_path", "rows", "source_path"})
#: Airflow's TaskInstanceNote.content is String(1000).
NOTE_LIMIT = 1000


@dataclass(frozen=True)
class TaskPoolUse:
    """What the guard needs to know about one task of a DAG.

    :param task_id: the task's id.
    :param pool: the pool it runs in.
    :param pool_slots: slots one of its task instances occupies (>= 1).
    :param task_type: the operator class name (``ExportCsvOperator``).
    :param task_module: the module of the operator class.
    :param template_fields: the operator's template fields (serialized with the DAG).
    """

    task_id: str
    pool: str
    pool_slots: int
    task_type: str = ""
    task_module: str = ""
    template_fields: tuple[str, ...] = ()

    @property
    def is_export(self) -> bool:
        """An export task: one of our operators or a subclass of them, or any task in ``export_pool``.

        The scheduler sees serialized tasks, not classes, so a subclass defined in a DAG file
        (``class MyExport(ExportCsvOperator)``) is recognised by its template fields: an export
        keeps ``output_path`` templated (any other task with a templated ``output_path`` counts
        as an export too, which at worst fails a task that would otherwise wait forever).
        """
        return (
            self.task_type in EXPORT_OPERATORS
            or self.task_module.split(".")[0] == "airflow_export"
            or "output_path" in self.template_fields
            or self.pool == EXPORT_POOL
        )

    @property
    def export_format(self) -> str | None:
        """``"csv"``/``"pdf"`` for our operators and their subclasses (a PDF export's template
        fields include ``title``), else None (no request metric is sent then)."""
        if self.task_type in EXPORT_OPERATORS:
            return EXPORT_OPERATORS[self.task_type]
        if set(self.template_fields) >= EXPORT_TEMPLATE_FIELDS:
            return "pdf" if "title" in self.template_fields else "csv"
        return None


@dataclass(frozen=True)
class PoolProblem:
    """A task that Airflow would leave scheduled forever.

    :param task: the task.
    :param pool_size: the pool's slots, or None when the pool does not exist.
    """

    task: TaskPoolUse
    pool_size: int | None

    @property
    def message(self) -> str:
        """One sentence for the task note and the scheduler log, naming the pool, the sizes and the fix."""
        t = self.task
        if self.pool_size is None:
            return (
                f"airflow-export pool guard: task {t.task_id!r} uses pool {t.pool!r}, which does not exist; "
                f"Airflow would leave it scheduled forever (apache/airflow#20178). Create the pool, e.g. "
                f"`airflow pools set {t.pool} 5 \"exports\"`, or set the task's pool, then clear the task."
            )
        return (
            f"airflow-export pool guard: task {t.task_id!r} needs pool_slots={t.pool_slots} but pool "
            f"{t.pool!r} has only {self.pool_size} slots; Airflow would leave it scheduled forever "
            f"(apache/airflow#20178). Lower pool_slots to at most {self.pool_size} or enlarge the pool "
            f"(`airflow pools set {t.pool} {t.pool_slots} ...`), then clear the task."
        )


def find_pool_problems(
    tasks: Iterable[TaskPoolUse], pool_sizes: Mapping[str, int], scope: str = "exports"
) -> list[PoolProblem]:
    """The tasks that can never be scheduled with the pools as they are.

    :param tasks: the DAG's tasks.
    :param pool_sizes: pool name -> slots, as in Airflow's ``slot_pool`` table (-1: unlimited).
    :param scope: ``exports``, ``all`` or ``off`` (see the module docstring).
    :return: one :class:`PoolProblem` per task, in the order given. A pool of size 0 (paused)
        is not a problem; nor is a size of -1.
    :raises ValueError: unknown ``scope``.
    """
    if scope not in SCOPES:
        raise ValueError(f"[export] pool_guard must be one of {SCOPES}, got {scope!r}")
    if scope == "off":
        return []
    problems = []
    for task in tasks:
        if scope == "exports" and not task.is_export:
            continue
        size = pool_sizes.get(task.pool)
        if size is None:
            problems.append(PoolProblem(task, None))
        elif 0 < size < task.pool_slots:
            problems.append(PoolProblem(task, size))
    return problems


def configured_scope() -> str:
    """``[export] pool_guard`` from Airflow's configuration (default ``exports``)."""
    from airflow.configuration import conf

    return conf.get(CONFIG_SECTION, "pool_guard", fallback="exports").strip().lower()


def task_uses(dag: Any) -> list[TaskPoolUse]:
    """What the guard needs to know about each task of a (serialized) DAG."""
    uses = []
    for task in dag.task_dict.values():
        uses.append(TaskPoolUse(
            task_id=task.task_id,
            pool=task.pool,
            pool_slots=int(getattr(task, "pool_slots", 1) or 1),
            task_type=str(getattr(task, "task_type", "") or ""),
            task_module=str(getattr(task, "_task_module", "") or ""),
            template_fields=tuple(getattr(task, "template_fields", ()) or ()),
        ))
    return uses


def _count_failure(problem: PoolProblem) -> None:
    try:
        metrics.export_refused(problem.task.export_format, "invalid_input")
    except Exception:  # metrics must never break the scheduler
        log.debug("pool guard: could not send metrics", exc_info=True)


def fail_unschedulable_tasks(dag_run: Any, session: Any, scope: str | None = None) -> list[PoolProblem]:
    """Check one DAG run and fail the task instances that can never be scheduled.

    :param dag_run: a ``DagRun`` with its serialized DAG attached (``dag_run.dag``).
    :param session: the scheduler's SQLAlchemy session (the change is committed with its transaction).
    :param scope: overrides ``[export] pool_guard``.
    :return: the problems found (their task instances were failed).
    """
    from airflow.models.pool import Pool
    from airflow.utils.state import State, TaskInstanceState
    from sqlalchemy import select

    scope = scope or configured_scope()
    dag = getattr(dag_run, "dag", None)
    if dag is None or scope == "off":
        return []
    pool_sizes = {name: int(slots) for name, slots in session.execute(select(Pool.pool, Pool.slots)).all()}
    problems = find_pool_problems(task_uses(dag), pool_sizes, scope)
    if not problems:
        return []
    by_task = {p.task.task_id: p for p in problems}
    for ti in dag_run.get_task_instances(session=session):
        problem = by_task.get(ti.task_id)
        if problem is None or ti.state in State.finished:
            continue
        ti.set_state(TaskInstanceState.FAILED, session=session)
        ti.note = problem.message[:NOTE_LIMIT]
        log.error("%s (DAG %s, run %s)", problem.message, dag_run.dag_id, dag_run.run_id)
        _count_failure(problem)
    session.flush()
    return problems


class PoolGuardListener:
    """The scheduler listener: on a DAG run's start, fail tasks whose pool cannot run them."""

    @hookimpl
    def on_dag_run_running(self, dag_run: Any, msg: str) -> None:
        if msg != "started":
            return
        try:
            from sqlalchemy.orm import object_session

            session = object_session(dag_run)
            if session is None:
                return
            fail_unschedulable_tasks(dag_run, session)
        except Exception:  # a listener must never take the scheduler down
            log.exception("airflow-export pool guard failed for %s", getattr(dag_run, "run_id", dag_run))


pool_guard_listener = PoolGuardListener()
