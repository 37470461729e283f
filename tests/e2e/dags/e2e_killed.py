"""Test-only DAGs (end-to-end tests): exports stopped by Airflow while they run.

Both read a slow query from the test PostgreSQL (``pg_sleep(0.002)`` per row, so about 2 s per
1,000-row fetch and 200 s in all; the data stays small):

* ``e2e_execution_timeout``: ``execution_timeout`` of 6 s, Airflow's timeout stops the export;
* ``e2e_marked_failed``: the test marks the running task failed through the REST API, and
  Airflow terminates it (the operator's ``on_kill``).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG

from airflow_export import ExportCsvOperator

SLOW_SQL = "SELECT n, pg_sleep(0.002)::text AS slept FROM generate_series(1, 100000) AS n"

for dag_id, kwargs in (
    ("e2e_execution_timeout", {"execution_timeout": dt.timedelta(seconds=6)}),
    ("e2e_marked_failed", {}),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
             catchup=False, tags=["e2e-test"]) as dag:
        ExportCsvOperator(task_id="slow_export", conn_id="e2e_pg", sql=SLOW_SQL, retries=0,
                          output_path=f"e2e/{dag_id}/{{{{ run_id }}}}/slow.csv", **kwargs)
    globals()[dag_id] = dag
