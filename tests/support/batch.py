"""What the end-to-end tests check on an ``export_batch`` run, whatever the topology: the pool bound from the
task instances' times, and the bridge's counters against the exports' XCom metadata."""

from __future__ import annotations

from airflow_export.names import EXPORT_POOL as POOL
from airflow_export.validation import parse_exposition, sum_values
from tests.support.overlap import max_overlap, waited_for_slot
from tests.support.stack import run_and_collect, wait_until


def export_intervals(stack, run: dict) -> list[tuple[str, str]]:
    """(start, end) of the run's ten export tasks, all successful."""
    tis = stack.api.task_instances("export_batch", run["dag_run_id"])
    exports = [t for t in tis if t["pool"] == POOL]
    assert len(exports) == 10, [t["task_id"] for t in tis]
    assert all(t["state"] == "success" for t in exports)
    return [(t["start_date"], t["end_date"]) for t in exports]


def assert_pool_bounded(intervals: list[tuple[str, str]], slots: int = 5) -> None:
    """At most ``slots`` exports overlapped, at least two did, and at least one waited for a slot."""
    peak = max_overlap(intervals)
    assert peak <= slots, f"{peak} export tasks overlapped in a {slots}-slot pool"
    assert peak >= 2, "exports did not run concurrently at all"
    assert waited_for_slot(intervals) >= 1, "no export task waited for a pool slot"


def set_pool_slots(stack, slots: int) -> None:
    pool = stack.api.request("GET", f"/pools/{POOL}")
    body = {"pool": POOL, "slots": slots, "description": pool["description"],
            "include_deferred": pool["include_deferred"]}
    assert stack.api.request("PATCH", f"/pools/{POOL}", body)["slots"] == slots


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the matching samples; 0 when none (a counter not yet sent)."""
    return sum_values(parse_exposition(text), name, labels) or 0.0


def assert_counters_match_xcoms(before: str, after: str, exports: list[tuple[str, dict]]) -> None:
    """Between two scrapes, the bridge counted exactly the exports' records, bytes, requests and latencies."""
    for fmt in ("csv", "pdf"):
        metas = [m for _, m in exports if m["format"] == fmt]

        def delta(name: str, **labels: str) -> float:
            return metric(after, name, **labels) - metric(before, name, **labels)

        assert delta("airflow_export_records_total", format=fmt) == sum(m["records"] for m in metas)
        assert delta("airflow_export_bytes_total", format=fmt) == sum(m["bytes"] for m in metas)
        assert delta("airflow_export_requests_total", format=fmt, status="success") == len(metas)
        assert delta("airflow_export_duration_seconds_count", format=fmt) == len(metas)
    assert metric(after, "airflow_export_running") == 0  # every +1 had its -1


def assert_control_overlaps(stack, slots: int = 10) -> None:
    """The overlap check is not vacuous: run ``export_batch`` with a ``slots``-slot pool (then 5 again) and
    require more than 5 overlapping exports."""
    set_pool_slots(stack, slots)
    try:
        run, _ = run_and_collect(stack, "export_batch")
        peak = max_overlap(export_intervals(stack, run))
        assert peak > 5, f"with {slots} slots only {peak} exports overlapped; the 5-slot check would prove nothing"
    finally:
        set_pool_slots(stack, 5)


def delays_consumer_report(stack) -> dict:
    """The XCom of the newest finished, Asset-triggered ``flights_delays_consumer`` run (which must have
    succeeded): the delays CSV it verified against its Asset event (path, records, sha256, best carriers)."""
    runs = wait_until(lambda: [
        r for r in stack.api.request("GET", "/dags/flights_delays_consumer/dagRuns?limit=20")["dag_runs"]
        if r["run_type"] == "asset_triggered" and r["state"] in ("success", "failed")
    ], 180, "flights_delays_consumer was not triggered by the Asset event")
    consumer = runs[-1]
    assert consumer["state"] == "success"
    return stack.api.xcom("flights_delays_consumer", consumer["dag_run_id"], "verify_and_report")
