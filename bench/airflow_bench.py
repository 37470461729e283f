"""``--airflow``: the export_batch DAG on a real local Airflow, timed end to end.

Boots ``scripts.stack``'s :class:`Stack` (``bridge=True``: our StatsD -> Prometheus bridge) in a
temporary Airflow home under ``bench/.data/`` on free loopback ports, with the benchmark's
``demo.db`` copied in (so the stack does not build its own), then ``runs`` times:

* triggers ``export_batch`` and polls its state every 0.25 s: **wall time from trigger to
  success** as the client sees it (target < 30 s), and the run's own ``start_date`` ->
  ``end_date`` (the scheduler's timestamps);
* reads every export task's XCom ``duration_seconds`` (the writer's own time: reading the
  rows and writing the file) and its task instance duration (``start_date`` -> ``end_date``:
  plus the task process start, Airflow import, DAG parse, connection lookup);
* scrapes the bridge before and after the run: the run's share of the
  ``airflow_export_duration_seconds`` histogram per format (count, mean, p50/p95 by
  ``histogram_quantile`` over the bucket deltas);
* waits for the ``export_validation`` run it triggers, so runs do not overlap.

The stack is always stopped and the temporary home removed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import data
import report

REPO = data.REPO
DAG_ID = "export_batch"
#: The tasks whose operator latency the brief asks for: 1k CSV, 1k PDF, 10k CSV.
LATENCY_TASKS = ("csv_1k", "pdf_1k", "csv_10k")
#: The issue's limits on those latencies, seconds.
LATENCY_LIMITS = {"csv_1k": 1.0, "pdf_1k": 1.0, "csv_10k": 10.0}
WALL_TARGET_SECONDS = 30.0
HISTOGRAM = "airflow_export_duration_seconds"


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    a = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (b - a).total_seconds()


def _histogram(text: str) -> dict[str, dict]:
    """``{format: {"count", "sum", "buckets": [(le, cumulative count), ...]}}`` from an exposition."""
    from airflow_export.validation.exposition import histogram_buckets, parse_exposition, sum_values

    samples = parse_exposition(text)
    out = {}
    for fmt in ("csv", "pdf"):
        labels = {"format": fmt}
        out[fmt] = {
            "count": sum_values(samples, f"{HISTOGRAM}_count", labels) or 0.0,
            "sum": sum_values(samples, f"{HISTOGRAM}_sum", labels) or 0.0,
            "buckets": histogram_buckets(samples, HISTOGRAM, labels),
        }
    return out


def histogram_delta(before: dict[str, dict], after: dict[str, dict]) -> dict[str, dict]:
    """Per format: what one run added to the histogram: count, mean seconds, p50, p95.

    :param before: :func:`_histogram` of the scrape before the run.
    :param after: the same after the run.
    :returns: ``{format: {"count", "mean_seconds", "p50_seconds", "p95_seconds"}}`` (None where
        the run added nothing).
    """
    from airflow_export.validation.quantile import histogram_quantile

    out = {}
    for fmt, a in after.items():
        b = before.get(fmt, {"count": 0.0, "sum": 0.0, "buckets": []})
        count = a["count"] - b["count"]
        earlier = dict(b["buckets"])
        buckets = [(le, c - earlier.get(le, 0.0)) for le, c in a["buckets"]]
        if count <= 0:
            out[fmt] = {"count": 0, "mean_seconds": None, "p50_seconds": None, "p95_seconds": None}
            continue
        out[fmt] = {
            "count": int(count),
            "mean_seconds": (a["sum"] - b["sum"]) / count,
            "p50_seconds": histogram_quantile(0.5, buckets),
            "p95_seconds": histogram_quantile(0.95, buckets),
        }
    return out


def _wait_run(stack, run_id: str, timeout: float = 600) -> tuple[dict, float]:
    started = time.monotonic()
    quoted = urllib.parse.quote(run_id, safe="")
    while True:
        run = stack.api.request("GET", f"/dags/{DAG_ID}/dagRuns/{quoted}")
        if run["state"] in ("success", "failed"):
            return run, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{DAG_ID} run {run_id} not done after {timeout:.0f} s")
        time.sleep(0.25)


def run(runs: int = 2) -> dict:
    """Boot Airflow, time ``runs`` runs of export_batch, stop; the section's measurements.

    :returns: ``{"runs": [...], "boot_seconds": ..., "markdown": ...}``.
    :raises RuntimeError: a run did not succeed (failed tasks named).
    """
    sys.path.insert(0, str(REPO))  # scripts.stack: the launcher's Stack
    sys.path.insert(0, str(REPO / "dags"))
    from scripts import stack as stack_module

    data.prepare([])
    home = Path(tempfile.mkdtemp(prefix="airflow-", dir=data.DATA_DIR))
    (home / "data").mkdir(parents=True)
    shutil.copyfile(data.DB_PATH, home / "data" / "demo.db")
    stack = stack_module.Stack(home, api_port=stack_module.free_port(), bridge=True)
    results = []
    started = time.monotonic()
    try:
        with stack_module.running_stack(stack):
            boot = time.monotonic() - started
            print(f"\n== Airflow up in {boot:.0f} s ({stack.base_url}); timing {runs} run(s) of {DAG_ID}", flush=True)
            stack.api.wait_dag(DAG_ID)
            stack.api.wait_dag("export_validation")
            for index in range(runs):
                before = _histogram(stack.scrape())
                run_id = stack.api.trigger(DAG_ID)
                dag_run, wall = _wait_run(stack, run_id)
                tis = stack.api.task_instances(DAG_ID, run_id)
                if dag_run["state"] != "success":
                    failed = [t["task_id"] for t in tis if t["state"] != "success"]
                    raise RuntimeError(f"{DAG_ID} run {run_id} ended {dag_run['state']}; failed: {failed}")
                time.sleep(1.5)  # StatsD is UDP, sent at task end: let the bridge take the last lines
                after = _histogram(stack.scrape())
                tasks = {}
                for ti in sorted(tis, key=lambda t: t["task_id"]):
                    if ti["operator"] not in ("ExportCsvOperator", "ExportPdfOperator"):
                        continue
                    meta = stack.api.xcom(DAG_ID, run_id, ti["task_id"])
                    tasks[ti["task_id"]] = {
                        "records": meta["records"],
                        "bytes": meta["bytes"],
                        "duration_seconds": meta["duration_seconds"],
                        "task_seconds": _seconds_between(ti.get("start_date"), ti.get("end_date")),
                    }
                result = {
                    "run_id": run_id,
                    "state": dag_run["state"],
                    "wall_seconds": wall,
                    "run_seconds": _seconds_between(dag_run.get("start_date"), dag_run.get("end_date")),
                    "tasks": tasks,
                    "histogram": histogram_delta(before, after),
                }
                results.append(result)
                print(
                    f"  run {index + 1}/{runs}: {wall:.1f} s trigger -> success "
                    f"(run {result['run_seconds']:.1f} s); "
                    + ", ".join(f"{t} {tasks[t]['duration_seconds']:.3f} s" for t in LATENCY_TASKS if t in tasks),
                    flush=True,
                )
                stack.api.wait_triggered_run("export_validation", "export_folder", f"export_batch/{run_id}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    section = {"runs": results, "boot_seconds": boot if results else None}
    section["markdown"] = render(section)
    return section


def render(section: dict) -> str:
    """Markdown of the airflow section: run wall times, per-task latencies, histogram deltas."""
    runs = section["runs"]
    lines = [
        f"Airflow boot (db migrate, pool, components healthy): {section['boot_seconds']:.0f} s. "
        f"Run 1 is the first run after boot.",
        "",
        "| run | trigger -> success s (client, 0.25 s polling) | run start -> end s (scheduler) |",
        "|---|---|---|",
    ]
    for i, r in enumerate(runs, start=1):
        lines.append(f"| {i} | {r['wall_seconds']:.2f} | {r['run_seconds']:.2f} |")
    lines += [
        "",
        "Operator latency per task (XCom `duration_seconds`: the writer's time, reading rows included; "
        "task s: the task instance start -> end, process start and parse included):",
        "",
    ]
    task_ids = sorted({t for r in runs for t in r["tasks"]}, key=lambda t: (t not in LATENCY_TASKS, t))
    head = ["task", "records"] + [f"run {i} duration s / task s" for i in range(1, len(runs) + 1)]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in task_ids:
        cells = [f"**{t}**" if t in LATENCY_TASKS else t, report.fmt_int(runs[0]["tasks"][t]["records"])]
        for r in runs:
            x = r["tasks"].get(t)
            cells.append(f"{x['duration_seconds']:.3f} / {x['task_seconds']:.2f}" if x else "-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "The run's share of the bridge's `airflow_export_duration_seconds` histogram (delta of two scrapes; "
        "p50/p95 by histogram_quantile over the bucket deltas, so bounded by the bucket edges "
        "0.1, 0.25, 0.5, 1, 2.5 ... s):",
        "",
        "| run | format | count | mean s | p50 s | p95 s |",
        "|---|---|---|---|---|---|",
    ]

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    for i, r in enumerate(runs, start=1):
        for fmt, h in r["histogram"].items():
            lines.append(
                f"| {i} | {fmt} | {h['count']} | {f(h['mean_seconds'])} | {f(h['p50_seconds'])} "
                f"| {f(h['p95_seconds'])} |"
            )
    return "\n".join(lines)


def targets(section: dict) -> list[report.Target]:
    """The Airflow target (export_batch trigger -> success < 30 s, every run) and the latency lines."""
    runs = section.get("runs") or []
    rule = f"< {WALL_TARGET_SECONDS:.0f} s, every run"
    if not runs:
        return [report.Target("Airflow export_batch trigger -> success", "NOT MEASURED", "run with --airflow", rule)]
    walls = [r["wall_seconds"] for r in runs]
    out = [
        report.Target(
            "Airflow export_batch trigger -> success",
            report.judge(max(walls) < WALL_TARGET_SECONDS),
            ", ".join(f"{w:.1f} s" for w in walls),
            rule,
        )
    ]
    for t in LATENCY_TASKS:
        values = [r["tasks"][t]["duration_seconds"] for r in runs if t in r["tasks"]]
        task_values = [r["tasks"][t]["task_seconds"] for r in runs if t in r["tasks"]]
        limit = LATENCY_LIMITS[t]
        latency_rule = (
            f"< {limit:g} s, every run (the writer's own time: XCom duration_seconds, the value the histogram observes)"
        )
        if values:
            out.append(
                report.Target(
                    f"Airflow operator latency {t}",
                    report.judge(max(values) < limit),
                    ", ".join(f"{v:.3f} s" for v in values)
                    + " (task instance "
                    + ", ".join(f"{v:.1f} s" for v in task_values)
                    + ")",
                    latency_rule,
                )
            )
        else:
            out.append(
                report.Target(f"Airflow operator latency {t}", "NOT MEASURED", "task not in the runs", latency_rule)
            )
    return out
