"""Test DAG of tests/plugin/test_status.py: mapped, failed and pre-execute-failed exports.

Run by ``dag.test()`` from its own DAG bundle; paths are relative to the export root, the
connection is ``status_db`` (a SQLite file with a table ``n`` of the numbers 1..10).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_export import ExportCsvOperator

with DAG("export_status_cases", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False) as dag:
    # Three mapped exports of 1, 2 and 3 rows, each to its own file.
    ExportCsvOperator.partial(
        task_id="mapped", conn_id="status_db", output_path="status/{{ run_id }}/part-{{ ti.map_index }}.csv",
    ).expand(sql=[f"SELECT i FROM n WHERE i <= {count}" for count in (1, 2, 3)])
    # Fails in execute: the table does not exist (source_error).
    ExportCsvOperator(task_id="bad_query", conn_id="status_db", sql="SELECT * FROM missing_table",
                      output_path="status/{{ run_id }}/bad.csv", retries=0)
    # Fails before execute: output_path does not render (invalid_input).
    ExportCsvOperator(task_id="bad_template", conn_id="status_db", sql="SELECT i FROM n",
                      output_path="status/{{ no_such_variable.x }}/t.csv", retries=0)

    @task
    def make_rows() -> list[list[int]]:
        return [[1, 2], [3, 4]]

    # The example: a rows string is a template rendered to the upstream task's list.
    make_rows() >> ExportCsvOperator(task_id="native_rows", rows="{{ ti.xcom_pull(task_ids='make_rows') }}",
                                     columns=["a", "b"], output_path="status/{{ run_id }}/native.csv")
