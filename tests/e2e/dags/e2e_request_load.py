"""Test-only DAG for the request API's load test (tests/e2e/test_request_load.py): one small CSV export
per run, nothing before it, so 200 runs cost 200 task executions (export_single would cost 600).

Its ``format`` Param lets the client send the same conf as for export_single; the rows are fixed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from airflow_export import ExportCsvOperator

ROWS = [{"id": n, "name": f"row {n}", "amount": n * 1.5} for n in range(1, 21)]

with DAG(
    dag_id="e2e_request_load",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=64,
    tags=["e2e-test"],
    params={"records": Param(20, type="integer", minimum=1, maximum=20),
            "format": Param("csv", type="string", enum=["csv"])},
) as dag:
    ExportCsvOperator(task_id="export_csv", rows=ROWS, retries=0,
                      output_path="e2e_request_load/{{ run_id }}/rows.csv")
