"""Test-only DAG (end-to-end tests): PostgreSQL connections with a password, one unreachable, one working.

The connections come from the environment of the test stack (``tests/e2e/conftest.py``); the
test reads every task log and the XCom and requires that the password appears in none of them.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_export import ExportCsvOperator

with DAG(dag_id="e2e_secrets", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["e2e-test"]) as dag:
    ExportCsvOperator(task_id="unreachable_postgres", conn_id="e2e_pg_closed", sql="SELECT 1 AS one",
                      output_path="e2e/secrets/{{ run_id }}/closed.csv", retries=0)
    ExportCsvOperator(task_id="postgres_with_password", conn_id="e2e_pg",
                      sql="SELECT n, 'row ' || n AS label FROM generate_series(1, %(rows)s) AS n",
                      parameters={"rows": 1234}, output_path="e2e/secrets/{{ run_id }}/pg.csv")
