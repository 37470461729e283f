"""Test-only DAG (the Celery end-to-end test): a worker SIGKILLed in the middle of an export.

``reference`` exports the 336,776 flights rows to the export root (object storage); then ``victim``
exports the same query to another key. The test kills the worker running ``victim`` while its staging
file grows; Airflow finds the task without heartbeat, and the retry (on the other worker) must produce
an object byte-identical to ``reference``'s.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG

from airflow_export import ExportCsvOperator

SQL = "SELECT * FROM flights ORDER BY year, month, day, sched_dep_time, carrier, flight"
OUT = "e2e_worker_loss/{{ run_id }}"

with DAG(dag_id="e2e_worker_loss", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["e2e-test"]) as dag:
    reference = ExportCsvOperator(task_id="reference", conn_id="export_demo_db", sql=SQL, retries=0,
                                  output_path=f"{OUT}/reference.csv")
    victim = ExportCsvOperator(task_id="victim", conn_id="export_demo_db", sql=SQL, retries=2,
                               retry_delay=dt.timedelta(seconds=1), output_path=f"{OUT}/victim.csv")
    reference >> victim
