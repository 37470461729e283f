"""``/export/status`` and the failure listener against a real ``dag.test()`` run (issue 16, items 3, 6, 7).

Mapped instances are listed one by one with their own path and record count; failed exports
have their reason; a failure before ``execute`` (a template error in ``output_path``) is counted
and listed as ``invalid_input``; ``dag_id`` filters.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import sqlite3
import sys

import pytest

from airflow_export.plugin import AirflowExportPlugin
from airflow_export.plugin.app import export_status
from airflow_export.plugin.failures import export_failure_listener
from tests.support.stats import CountingStats

DAGS = os.path.join(os.path.dirname(__file__), "dags")
BUNDLES = [
    {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
    {"name": "status-tests", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
     "kwargs": {"path": DAGS}},
]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def status_run(airflow_db, tmp_path_factory):
    """One ``dag.test()`` run of ``export_status_cases``; the counted StatsD calls; the export root."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    from airflow_export import metrics

    root = tmp_path_factory.mktemp("status")
    db = root / "src.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE n (i INTEGER)")
        conn.executemany("INSERT INTO n VALUES (?)", [(i,) for i in range(1, 11)])
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_STATUS_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    mp.setenv("AIRFLOW_EXPORT_ROOT", str(root))
    mp.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(BUNDLES))
    mp.syspath_prepend(DAGS)
    recorder = CountingStats()
    mp.setattr(metrics, "_stats", lambda: recorder)
    with create_session() as session:
        if Pool.get_pool("export_pool", session=session) is None:
            Pool.create_or_update_pool("export_pool", 5, "exports", include_deferred=False, session=session)
    sys.modules.pop("export_status_cases", None)
    dag = importlib.import_module("export_status_cases").dag
    try:
        run = dag.test()
    finally:
        sys.modules.pop("export_status_cases", None)
    yield run, recorder.counted, root
    mp.undo()


def test_the_plugin_registers_the_failure_listener():
    assert export_failure_listener in AirflowExportPlugin.listeners


def test_mapped_exports_are_listed_one_by_one(status_run):
    run, _, root = status_run
    status = export_status(dag_id="export_status_cases", last=100)
    mine = {(e["task_id"], e["map_index"]): e for e in status["last_exports"] if e["run_id"] == run.run_id}
    for index, records in ((0, 1), (1, 2), (2, 3)):
        entry = mine[("mapped", index)]
        path = root / "status" / run.run_id / f"part-{index}.csv"
        assert entry["status"] == "success" and entry["path"] == str(path) and entry["records"] == records
        assert read_csv(path) == [["i"], *[[str(i)] for i in range(1, records + 1)]]
        assert entry["bytes"] == path.stat().st_size


def test_failed_exports_have_their_reason(status_run):
    run, _, _ = status_run
    status = export_status(dag_id="export_status_cases", last=100)
    mine = {e["task_id"]: e for e in status["last_exports"] if e["run_id"] == run.run_id}
    query = mine["bad_query"]
    assert query["status"] == "failed" and query["map_index"] == -1 and query["reason"] == "source_error"
    assert "missing_table" in query["error"] and query["path"] is None
    template = mine["bad_template"]
    assert template["status"] == "failed" and template["reason"] == "invalid_input"
    assert "no_such_variable" in template["error"]
    assert mine["native_rows"]["status"] == "success" and "reason" not in mine["native_rows"]


def test_a_failure_before_execute_is_counted_once(status_run):
    _, counted, _ = status_run
    # bad_query counted by execute (source_error), bad_template by the listener (invalid_input).
    assert counted.count("export.requests.csv.failed") == 2, counted
    assert counted.count("export.failures.source_error") == 1
    assert counted.count("export.failures.invalid_input") == 1
    assert counted.count("export.requests.csv.success") == 4  # three mapped + native_rows


def test_a_rows_template_renders_the_upstream_list(status_run):
    # The example, rows="{{ ti.xcom_pull(task_ids='make_rows') }}", in a real run.
    run, _, root = status_run
    assert read_csv(root / "status" / run.run_id / "native.csv") == [["a", "b"], ["1", "2"], ["3", "4"]]


def test_dag_id_filters(status_run):
    status = export_status(dag_id="no_such_dag", last=100)
    assert status["last_exports"] == [] and status["running_exports"] == []
    everything = export_status(last=500)
    assert {e["dag_id"] for e in everything["last_exports"]} >= {"export_status_cases"}
