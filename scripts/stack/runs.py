"""DAG runs as the demo and the end-to-end tests drive them: trigger, wait, collect the exports."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from airflow_export.names import EXPORT_OPERATORS
from scripts.stack import ADMIN_PASSWORD, ADMIN_USER, Stack

#: Checks the metrics of an ``export_batch`` run, which triggers it with conf ``export_folder``.
VALIDATION_DAG = "export_validation"


def run_and_collect(stack: Stack, dag_id: str, timeout: float = 900) -> tuple[dict, list[tuple[str, dict]]]:
    """Trigger ``dag_id``, wait, and return the run and [(task_id, export metadata)] of its export tasks.

    The run gets ``wall_seconds``: seconds from the trigger to the end, as seen here.

    :raises RuntimeError: the run failed (failed task ids and their log tails in the message).
    """
    api = stack.api
    api.wait_dag(dag_id)
    run_id = api.trigger(dag_id)
    started = time.monotonic()
    run = api.wait_run(dag_id, run_id, timeout)
    run["wall_seconds"] = time.monotonic() - started
    tis = api.task_instances(dag_id, run_id)
    if run["state"] != "success":
        failed = [t["task_id"] for t in tis if t["state"] not in ("success", "skipped")]
        logs = "\n".join(f"--- {t}:\n{api.task_log(dag_id, run_id, t)[-3000:]}" for t in failed[:3])
        raise RuntimeError(f"{dag_id} run {run_id} ended {run['state']}; not successful: {failed}\n{logs}")
    exports = []
    for ti in sorted(tis, key=lambda t: t["task_id"]):
        if ti["state"] == "success" and ti["operator"] in EXPORT_OPERATORS:
            exports.append((ti["task_id"], api.xcom(dag_id, run_id, ti["task_id"])))
    return run, exports


def validation_report(stack: Stack, batch_run_id: str) -> tuple[dict, str]:
    """The ``export_validation`` run triggered by an ``export_batch`` run, and its assertion table
    (``<home>/evidence/<run id>/assertions.txt``, else the tail of the task log)."""
    run = stack.api.wait_triggered_run(VALIDATION_DAG, "export_folder", f"export_batch/{batch_run_id}")
    table_file = stack.home / "evidence" / run["dag_run_id"] / "assertions.txt"
    if table_file.exists():
        return run, table_file.read_text()
    log = stack.api.task_log(VALIDATION_DAG, run["dag_run_id"], "validate")[-3000:]
    return run, "(no assertion table: see the task log)\n" + log


def request_batch(stack: Stack, folder: Path, timeout: float = 900) -> tuple[list[str], int, str]:
    """Run the client, ``airflow-export request --batch --download folder``, against the stack.

    :return: the command line as a person types it, its exit status, and its output (stdout, then stderr).
    """
    args = ["request", "--batch", "--download", str(folder), "--url", stack.base_url, "--user", ADMIN_USER]
    env = {**stack.env(), "AIRFLOW_EXPORT_PASSWORD": ADMIN_PASSWORD}  # not on the command line
    proc = subprocess.run([sys.executable, "-m", "airflow_export.client", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)
    return ["airflow-export", *args], proc.returncode, proc.stdout + proc.stderr
