"""End to end, in a real Airflow: XCom rows whose keys differ and integers beyond 2**53 reach the CSV
and the PDF with every key and every digit (docs/adr/0050, 0052). DAG: tests/e2e/dags/e2e_no_silent_loss.py."""

from __future__ import annotations

import csv

import pytest
from pypdf import PdfReader

from tests.writers.pdf.reading import table_rows

pytestmark = pytest.mark.e2e

EXPECTED = [
    ["id", "n", "late", "other", "big"],
    ["1", str(2**53 + 1), "-", "-", "-"],
    ["2", str(2**63 - 1), "kept", "-", "-"],
    ["3", str(-(2**63)), "-", "also kept", "-"],
    ["4", "-", "-", "-", str(10**30 + 7)],
]


def test_xcom_rows_keep_every_key_and_digit(airflow_stack):
    stack = airflow_stack
    dag_id = "e2e_no_silent_loss"
    stack.api.wait_dag(dag_id)
    run_id = stack.api.trigger(dag_id)
    run = stack.api.wait_run(dag_id, run_id, timeout=300)
    tis = {t["task_id"]: t["state"] for t in stack.api.task_instances(dag_id, run_id)}
    if run["state"] != "success":
        logs = {t: stack.api.task_log(dag_id, run_id, t, 1)[-3000:] for t, state in tis.items() if state == "failed"}
        pytest.fail(f"run failed: {tis}\n{logs}")
    with open(stack.api.xcom(dag_id, run_id, "csv")["path"], newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == EXPECTED
    pages = PdfReader(stack.api.xcom(dag_id, run_id, "pdf")["path"]).pages
    assert [list(line) for page in pages for line in table_rows(page)] == EXPECTED
