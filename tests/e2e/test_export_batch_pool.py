"""export_batch in a real Airflow: the 5-slot pool, not our code, bounds concurrency."""

from __future__ import annotations

import csv
import gzip

import pytest
from pypdf import PdfReader

from airflow_export.names import EXPORT_POOL as POOL
from airflow_export.validation import parse_exposition
from airflow_export.validation.dashboard import metric_names_in_dashboard
from tests.support.batch import (
    assert_control_overlaps,
    assert_counters_match_xcoms,
    assert_pool_bounded,
    export_intervals,
    metric,
)
from tests.support.stack import REPO, run_and_collect, validation_report

pytestmark = pytest.mark.e2e


def test_batch_never_exceeds_five_slots_and_tasks_wait(airflow_stack):
    before = airflow_stack.scrape()
    run, exports = run_and_collect(airflow_stack, "export_batch")
    assert_pool_bounded(export_intervals(airflow_stack, run))

    # Every file is real and complete: read it back.
    by_task = dict(exports)
    meta = by_task["csv_10k"]
    with open(meta["path"], newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 10_001 and meta["records"] == 10_000
    assert rows[0][:3] == ["id", "name", "email"]
    assert [r[0] for r in rows[1:4]] == ["1", "2", "3"]
    with gzip.open(by_task["csv_10k_gzip"]["path"], "rt", newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 10_001
    pdf = PdfReader(by_task["pdf_5k"]["path"])
    assert len(pdf.pages) >= 100  # 5,000 rows, at most 50 a page
    assert by_task["pdf_5k"]["records"] == 5_000

    # The validation DAG ran after the batch and passed its six assertions on the bridge's metrics.
    vrun, table = validation_report(airflow_stack, run["dag_run_id"])
    assert vrun["state"] == "success", table
    assert "6 of 6 assertions passed" in table

    # Airflow really sent our metrics and its pool metrics through the bridge: compare numbers.
    after = airflow_stack.scrape()
    assert_counters_match_xcoms(before, after, exports)
    assert 2 <= metric(after, "airflow_export_running_high_water") <= 5
    assert metric(after, "airflow_pool_scheduled_slots_high_water", pool=POOL) >= 1  # exports waited for a slot
    assert metric(after, "airflow_pool_open_slots", pool=POOL) == 5  # the scheduler's own pool gauge

    # Every metric the Grafana dashboard queries is one the bridge really exposes.
    exposed = {s.name for s in parse_exposition(after)}
    wanted = metric_names_in_dashboard(REPO / "deploy" / "grafana" / "export-dashboard.json")
    assert len(wanted) >= 9 and wanted <= exposed, sorted(wanted - exposed)


def test_same_checks_fail_with_a_ten_slot_pool(airflow_stack):
    """The overlap check is not vacuous: with 10 slots, more than 5 exports do overlap."""
    assert_control_overlaps(airflow_stack)
