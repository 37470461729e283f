"""Test DAG of tests/operators/test_templating.py: every kind of rows/columns/sql value.

Run by ``dag.test()`` from its own DAG bundle; paths are relative to the export root, the
query file ``report.sql`` lies beside this file, the connection is ``templating_db``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_export import ExportCsvOperator

with DAG(
    "export_templating", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False,
) as dag:

    @task
    def upstream() -> list[list[str]]:
        return [["from xcom", "{{ ds }}"]]

    up = upstream()
    ExportCsvOperator(task_id="literal_rows", rows=[["{{ ds }}", "report.sql"]], columns=["{{ c }}", "d"],
                      output_path="templating/literal.csv")
    ExportCsvOperator(task_id="xcom_rows", rows=up, columns=["x", "y"], output_path="templating/xcom.csv")
    native = ExportCsvOperator(task_id="native_rows", rows="{{ ti.xcom_pull(task_ids='upstream') }}",
                               columns=["x", "y"], output_path="templating/{{ ds }}-native.csv")
    up >> native
    ExportCsvOperator(task_id="sql_file", conn_id="templating_db", sql="report.sql", parameters={"f": "backup.sql"},
                      output_path="templating/sql.csv")
    ExportCsvOperator.partial(task_id="mapped", rows=[["{{ ds }}"]], columns=["c"]).expand(
        output_path=["templating/m1.csv", "templating/m2.csv"]
    )
