"""export_batch in a real Airflow: the 5-slot pool, not our code, bounds concurrency."""

from __future__ import annotations

import csv
import gzip

import pytest
from pypdf import PdfReader

from airflow_export.names import EXPORT_POOL as POOL
from airflow_export.validation import parse_exposition, sum_values
from airflow_export.validation.dashboard import metric_names_in_dashboard
from tests.support.overlap import max_overlap, waited_for_slot
from tests.support.stack import REPO, run_and_collect, validation_report

pytestmark = pytest.mark.e2e


def export_intervals(stack, run: dict) -> list[tuple[str, str]]:
    tis = stack.api.task_instances("export_batch", run["dag_run_id"])
    exports = [t for t in tis if t["pool"] == POOL]
    assert len(exports) == 10, [t["task_id"] for t in tis]
    assert all(t["state"] == "success" for t in exports)
    return [(t["start_date"], t["end_date"]) for t in exports]


def set_pool_slots(stack, slots: int) -> None:
    pool = stack.api.request("GET", f"/pools/{POOL}")
    body = {"pool": POOL, "slots": slots, "description": pool["description"],
            "include_deferred": pool["include_deferred"]}
    assert stack.api.request("PATCH", f"/pools/{POOL}", body)["slots"] == slots


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the matching samples; 0 when none (a counter not yet sent)."""
    return sum_values(parse_exposition(text), name, labels) or 0.0


def test_batch_never_exceeds_five_slots_and_tasks_wait(airflow_stack):
    before = airflow_stack.scrape()
    run, exports = run_and_collect(airflow_stack, "export_batch")
    intervals = export_intervals(airflow_stack, run)
    peak = max_overlap(intervals)
    assert peak <= 5, f"{peak} export tasks overlapped in a 5-slot pool"
    assert peak >= 2, "exports did not run concurrently at all"
    assert waited_for_slot(intervals) >= 1, "no export task waited for a pool slot"

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
    for fmt in ("csv", "pdf"):
        metas = [m for _, m in exports if m["format"] == fmt]
        def delta(name, **labels):
            return metric(after, name, **labels) - metric(before, name, **labels)
        assert delta("airflow_export_records_total", format=fmt) == sum(m["records"] for m in metas)
        assert delta("airflow_export_bytes_total", format=fmt) == sum(m["bytes"] for m in metas)
        assert delta("airflow_export_requests_total", format=fmt, status="success") == len(metas)
        assert delta("airflow_export_duration_seconds_count", format=fmt) == len(metas)
    assert metric(after, "airflow_export_running") == 0  # every +1 had its -1
    assert 2 <= metric(after, "airflow_export_running_high_water") <= 5
    assert metric(after, "airflow_pool_scheduled_slots_high_water", pool=POOL) >= 1  # exports waited for a slot
    assert metric(after, "airflow_pool_open_slots", pool=POOL) == 5  # the scheduler's own pool gauge

    # Every metric the Grafana dashboard queries is one the bridge really exposes.
    exposed = {s.name for s in parse_exposition(after)}
    wanted = metric_names_in_dashboard(REPO / "deploy" / "grafana" / "export-dashboard.json")
    assert len(wanted) >= 9 and wanted <= exposed, sorted(wanted - exposed)


def test_same_checks_fail_with_a_ten_slot_pool(airflow_stack):
    """The overlap check is not vacuous: with 10 slots, more than 5 exports do overlap."""
    set_pool_slots(airflow_stack, 10)
    try:
        run, _ = run_and_collect(airflow_stack, "export_batch")
        peak = max_overlap(export_intervals(airflow_stack, run))
        assert peak > 5, f"with 10 slots only {peak} exports overlapped; the 5-slot assertion would prove nothing"
    finally:
        set_pool_slots(airflow_stack, 5)
