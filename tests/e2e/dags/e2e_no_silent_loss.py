"""Test-only DAG (end-to-end tests): XCom rows whose keys differ, with integers beyond 2**53, through a
real Airflow's XCom (task runner -> supervisor -> API server -> database and back) into CSV and PDF.

Airflow 3's task runner talks to its supervisor in msgpack, which holds integers from -2**63 to
2**64 - 1 only: a larger ``int`` (or an integral ``Decimal``, which Airflow's serde turns into an
``int``; a fractional one it turns into a float) fails the *upstream* task with ``OverflowError``.
Such a value travels as a string, as the last row does.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, task

from airflow_export import ExportCsvOperator, ExportPdfOperator

OUT = "e2e/no_silent_loss/{{ run_id }}"

#: The rows the upstream task returns; the test reads the same values back from both files.
ROWS = [
    {"id": 1, "n": 2**53 + 1},
    {"id": 2, "n": 2**63 - 1, "late": "kept"},
    {"id": 3, "n": -(2**63), "other": "also kept"},
    {"id": 4, "big": str(10**30 + 7)},
]

with DAG(
    "e2e_no_silent_loss",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 0, "execution_timeout": dt.timedelta(minutes=5)},
    tags=["e2e"],
):

    @task
    def produce() -> list[dict]:
        return ROWS

    rows = produce()
    ExportCsvOperator(task_id="csv", rows=rows, output_path=f"{OUT}/rows.csv", format_options={"null_marker": "-"})
    ExportPdfOperator(task_id="pdf", rows=rows, output_path=f"{OUT}/rows.pdf", format_options={"null_marker": "-"})
