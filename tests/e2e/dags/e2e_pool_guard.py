"""Test-only DAGs (end-to-end tests): export tasks that Airflow alone would leave scheduled forever.

* ``e2e_pool_missing``: an export in a pool that does not exist;
* ``e2e_pool_slots_too_big``: an export needing 6 slots of the 5-slot ``export_pool``;
* ``e2e_pool_missing_subclass``: a subclass of ``ExportCsvOperator`` defined here, in a missing pool;
* ``e2e_mapped_exports``: ``ExportCsvOperator.partial(...).expand(...)``, which must run in
  ``export_pool`` like an unmapped export (Airflow's ``partial`` ignores ``__init__`` defaults).

The pool guard (``airflow_export.pool_guard``, a scheduler listener) must fail each run within
seconds of its start, with a note naming the pool and the fix (apache/airflow#20178).
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from airflow_export import ExportCsvOperator


class TeamExport(ExportCsvOperator):
    """A team's own subclass, defined in a DAG file (the scheduler never imports it)."""


for dag_id, operator, kwargs in (
    ("e2e_pool_missing", ExportCsvOperator, {"pool": "e2e_no_such_pool"}),
    ("e2e_pool_slots_too_big", ExportCsvOperator, {"pool_slots": 6}),
    ("e2e_pool_missing_subclass", TeamExport, {"pool": "e2e_no_such_pool"}),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
             catchup=False, tags=["e2e-test"]) as dag:
        export = operator(task_id="export", rows=[[1, "a"]], columns=["id", "name"],
                          output_path=f"e2e/{dag_id}/{{{{ run_id }}}}.csv", **kwargs)
        export >> EmptyOperator(task_id="after_export")
    globals()[dag_id] = dag


with DAG(dag_id="e2e_mapped_exports", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["e2e-test"]) as e2e_mapped_exports:
    ExportCsvOperator.partial(task_id="mapped", columns=["id"],
                              output_path="e2e/mapped/{{ run_id }}/part_{{ ti.map_index }}.csv").expand(
        rows=[[[i]] for i in range(3)])
