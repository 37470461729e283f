"""Airflow failure paths in a real Airflow: pools that can never run a task, and retries mid-export.

The DAGs are test-only, in ``tests/e2e/dags/`` (loaded as a second DAG bundle).
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import hashlib
import json
import os
import re
import time
import urllib.parse
from pathlib import Path

import pytest
from pypdf import PdfReader

from airflow_export.validation import parse_exposition, sum_values
from tests.support.stack import wait_until

pytestmark = pytest.mark.e2e


def metric(text: str, name: str, **labels: str) -> float:
    return sum_values(parse_exposition(text), name, labels) or 0.0


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize(("dag_id", "expected"), [
    ("e2e_pool_missing", r"uses pool 'e2e_no_such_pool', which does not exist.*airflow pools set e2e_no_such_pool"),
    ("e2e_pool_slots_too_big", r"needs pool_slots=6 but pool 'export_pool' has only 5 slots"),
    ("e2e_pool_missing_subclass", r"uses pool 'e2e_no_such_pool', which does not exist"),
])
def test_unschedulable_pool_fails_fast_with_a_message(airflow_stack, dag_id, expected):
    """Airflow alone leaves these tasks scheduled forever (apache/airflow#20178); the pool guard fails them."""
    stack = airflow_stack
    stack.api.wait_dag(dag_id)
    before = stack.scrape()
    started = time.monotonic()
    run_id = stack.api.trigger(dag_id)
    run = stack.api.wait_run(dag_id, run_id, timeout=90)
    elapsed = time.monotonic() - started
    assert run["state"] == "failed"
    assert elapsed < 60, f"the run took {elapsed:.0f} s to fail"
    tis = {t["task_id"]: t for t in stack.api.task_instances(dag_id, run_id)}
    assert tis["export"]["state"] == "failed"
    assert tis["export"]["try_number"] == 0  # never ran: failed by the scheduler's listener
    assert re.search(expected, tis["export"]["note"] or ""), tis["export"]["note"]
    assert "apache/airflow#20178" in tis["export"]["note"]
    assert tis["after_export"]["state"] == "upstream_failed"
    # The scheduler's log says it too, and the failure is counted (reason invalid_input).
    assert re.search(expected, stack.log_tail("scheduler", 400_000)), "no pool guard line in the scheduler log"
    deadline = time.monotonic() + 20
    while True:
        after = stack.scrape()
        d_requests = metric(after, "airflow_export_requests_total", format="csv", status="failed") - metric(
            before, "airflow_export_requests_total", format="csv", status="failed")
        d_invalid = metric(after, "airflow_export_failures_total", reason="invalid_input") - metric(
            before, "airflow_export_failures_total", reason="invalid_input")
        if (d_requests, d_invalid) == (1, 1) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (d_requests, d_invalid) == (1, 1)


def test_mapped_exports_run_in_the_export_pool(airflow_stack):
    stack = airflow_stack
    stack.api.wait_dag("e2e_mapped_exports")
    run_id = stack.api.trigger("e2e_mapped_exports")
    assert stack.api.wait_run("e2e_mapped_exports", run_id, timeout=300)["state"] == "success"
    tis = [t for t in stack.api.task_instances("e2e_mapped_exports", run_id) if t["task_id"] == "mapped"]
    assert sorted(t["map_index"] for t in tis) == [0, 1, 2]
    assert {t["pool"] for t in tis} == {"export_pool"}


def test_retry_after_failure_mid_export_gives_the_same_file(airflow_stack):
    stack = airflow_stack
    dag_id = "e2e_retry_mid_export"
    stack.api.wait_dag(dag_id)
    before = stack.scrape()
    run_id = stack.api.trigger(dag_id)
    run = stack.api.wait_run(dag_id, run_id, timeout=400)
    assert run["state"] == "success"
    tis = {t["task_id"]: t for t in stack.api.task_instances(dag_id, run_id)}
    for task_id, rows, fail_after in (("csv", 60_000, 30_000), ("pdf", 3_000, 1_500)):
        assert tis[task_id]["state"] == "success" and tis[task_id]["try_number"] == 2, tis[task_id]
        assert tis[f"reference_{task_id}"]["try_number"] == 1
        first = stack.api.task_log(dag_id, run_id, task_id, 1)
        assert f"injected failure after {fail_after} rows" in first
        # The first try failed mid-export: its temporary file was there (with the CSV rows so far), no target file.
        listing = re.search(r"directory at the injected failure: (\{.*?\})", first).group(1)
        files = ast.literal_eval(listing)  # the dict the test DAG logged
        target = f"flights.{task_id}"
        assert target not in files, files
        temps = {name: size for name, size in files.items() if target in name and name != target}
        assert len(temps) == 1, files
        if task_id == "csv":  # CSV chunks reach the file as they go; a PDF is written when its part is finished
            assert max(temps.values()) > 1_000_000, files

        meta = stack.api.xcom(dag_id, run_id, task_id)
        reference = stack.api.xcom(dag_id, run_id, f"reference_{task_id}")
        assert meta["records"] == reference["records"] == rows
        assert meta["sha256"] == reference["sha256"] == sha256(meta["path"]) == sha256(reference["path"])
        # No temporary file is left beside the finished one.
        assert sorted(os.listdir(os.path.dirname(meta["path"]))) == sorted(
            ["flights.csv", "reference.csv", "flights.pdf", "reference.pdf"])

    with open(stack.api.xcom(dag_id, run_id, "csv")["path"], newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 60_001
    text = "".join(p.extract_text() for p in PdfReader(stack.api.xcom(dag_id, run_id, "pdf")["path"]).pages[-1:])
    assert "Page " in text

    after = stack.scrape()
    for fmt in ("csv", "pdf"):
        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)
        assert delta("airflow_export_requests_total", format=fmt, status="failed") == 1
        assert delta("airflow_export_requests_total", format=fmt, status="success") == 2
    assert metric(after, "airflow_export_running") == 0


def test_connection_passwords_never_reach_logs_or_xcom(airflow_stack):
    from tests.e2e.conftest import SECRET

    stack = airflow_stack
    stack.api.wait_dag("e2e_secrets")
    run_id = stack.api.trigger("e2e_secrets")
    run = stack.api.wait_run("e2e_secrets", run_id, timeout=300)
    assert run["state"] == "failed"  # the unreachable one
    tis = {t["task_id"]: t for t in stack.api.task_instances("e2e_secrets", run_id)}
    assert tis["unreachable_postgres"]["state"] == "failed" and tis["postgres_with_password"]["state"] == "success"
    failed_log = stack.api.task_log("e2e_secrets", run_id, "unreachable_postgres", 1)
    assert "cannot connect for query on connection 'e2e_pg_closed': OperationalError" in failed_log
    ok_log = stack.api.task_log("e2e_secrets", run_id, "postgres_with_password", 1)
    meta = stack.api.xcom("e2e_secrets", run_id, "postgres_with_password")
    assert meta["records"] == 1234
    for text in (failed_log, ok_log, json.dumps(meta)):
        assert SECRET not in text
    # The raw log files on disk too (what a log shipper would read).
    raw = "".join(p.read_text(errors="replace") for p in (stack.home / "logs").rglob("*") if p.is_file())
    assert "e2e_secrets" in raw and SECRET not in raw


@pytest.mark.parametrize("dag_id, reason", [("e2e_execution_timeout", "timeout"), ("e2e_marked_failed", "cancelled")])
def test_export_stopped_by_airflow_is_counted_and_leaves_nothing(airflow_stack, dag_id, reason):
    """Airflow stops a running export (its execution_timeout; a user marking it failed): the failure is
    counted with its reason, the running gauge returns to 0, and no file is left."""
    stack = airflow_stack
    stack.api.wait_dag(dag_id)
    before = stack.scrape()
    run_id = stack.api.trigger(dag_id)
    if dag_id == "e2e_marked_failed":
        wait_until(lambda: stack.api.task_instances(dag_id, run_id)[0]["state"] == "running", 120,
                   "the export never started", interval=0.5)
        time.sleep(4)  # well inside the export (about 200 s long)
        quoted = urllib.parse.quote(run_id, safe="")
        stack.api.request("PATCH", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/slow_export",
                          {"new_state": "failed"})
    run = stack.api.wait_run(dag_id, run_id, timeout=150)
    assert run["state"] == "failed"
    ti = stack.api.task_instances(dag_id, run_id)[0]
    assert ti["state"] == "failed"
    started, ended = (dt.datetime.fromisoformat(ti[k]) for k in ("start_date", "end_date"))
    assert (ended - started).total_seconds() < 60, "the export was not stopped early"

    def delta(text_after, name, **labels):
        return metric(text_after, name, **labels) - metric(before, name, **labels)

    deadline = time.monotonic() + 60
    while True:
        after = stack.scrape()
        got = (delta(after, "airflow_export_failures_total", reason=reason),
               delta(after, "airflow_export_failures_total"),
               delta(after, "airflow_export_requests_total", format="csv", status="failed"),
               metric(after, "airflow_export_running"))
        if got == (1, 1, 1, 0) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got == (1, 1, 1, 0), f"(reason {reason}, all reasons, failed requests, running) = {got}"
    # Airflow marks the run failed before the task process has ended: the counted failure says it has.
    out_dir = stack.export_root / "e2e" / dag_id
    leftovers = [p for p in out_dir.rglob("*") if p.is_file()] if out_dir.exists() else []
    assert leftovers == [], (leftovers, stack.api.task_log(dag_id, run_id, "slow_export", 1)[-3000:])
