"""Run a local Airflow 3 with airflow-export: the demo, or a stack to use by hand.

    python -m scripts.launcher demo   # start, run export_batch + flights_export, print the files and checks, stop
    python -m scripts.launcher up     # start and stay up until Ctrl-C (prints the UI address)

Options: ``--port`` (default ``$AIRFLOW_EXPORT_API_PORT`` or 8080), ``--home``, ``--topology`` (``local``:
LocalExecutor and SQLite; ``celery``: CeleryExecutor, PostgreSQL, Redis, two workers, exports to S3). A taken port
is refused before anything starts; a component that dies is named, with the last lines of its log.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from scripts.stack import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    REPO,
    TOPOLOGIES,
    ComponentExited,
    PortTakenError,
    Stack,
    running_stack,
)
from scripts.stack.runs import request_batch, run_and_collect, validation_report

DEMO_DAGS = ("export_batch", "flights_export")
PORT_ENV = "AIRFLOW_EXPORT_API_PORT"


def files_table(results: list[tuple[str, dict]], root: str | Path) -> str:
    """A text table of exported files: task, path (relative to ``root``, a folder or ``s3://...`` URI),
    records, bytes, seconds, and the worker that ran the export when it reported one (Celery)."""
    workers = any("worker" in meta for _, meta in results)
    rows = [("task", "path", "records", "bytes", "seconds", *(("worker",) if workers else ()))]
    prefix = str(root).rstrip("/") + "/"
    for task_id, meta in results:
        for f in meta["files"]:
            rel = f["path"][len(prefix):] if f["path"].startswith(prefix) else os.path.relpath(f["path"], root)
            rows.append((task_id, rel, f"{f['records']:,}", f"{f['bytes']:,}", f"{meta['duration_seconds']:.2f}",
                         *((meta.get("worker", "?"),) if workers else ())))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        lines.append("  ".join(c.rjust(w) if 2 <= i <= 4 else c.ljust(w) for i, (c, w) in enumerate(cells)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def demo(stack: Stack) -> int:
    """Run the demo DAGs, print their files and the validation table, then request the five scenarios with the
    client (``airflow-export request --batch``, files downloaded); 0 when the validation and the client passed."""
    stack.api.wait_dag("export_validation")
    status = 0
    for dag_id in DEMO_DAGS:
        run, exports = run_and_collect(stack, dag_id)
        print(f"\n{dag_id}: {run['state']} in {run['wall_seconds']:.1f} s (run {run['dag_run_id']})")
        print(files_table(exports, stack.export_uri), flush=True)
        if dag_id == "export_batch":
            vrun, table = validation_report(stack, run["dag_run_id"])
            print(f"\nexport_validation: {vrun['state']} (evidence in {stack.home / 'evidence' / vrun['dag_run_id']})")
            print(table, flush=True)
            status = status or (0 if vrun["state"] == "success" else 1)
    command, code, output = request_batch(stack, stack.home / "downloads")  # the request API's round trip
    print(f"\n$ {' '.join(command)}\n{output}", flush=True)
    return status or code


def stay_up(stack: Stack) -> int:
    """Watch the components until Ctrl-C (0) or until one exits (1, named with its log tail)."""
    try:
        while (exited := stack.processes.exited()) is None:
            time.sleep(2)
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
        return 0
    print(f"{exited}\nstopping the others", file=sys.stderr, flush=True)
    return 1


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops like Ctrl-C: what was started is stopped on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["demo", "up"])
    parser.add_argument("--home", default=str(REPO / "airflow-home"))
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENV, "8080")))
    parser.add_argument("--topology", choices=sorted(TOPOLOGIES), default="local")
    args = parser.parse_args(argv)
    stack = Stack(Path(args.home), api_port=args.port, topology=TOPOLOGIES[args.topology](), bridge=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running_stack(stack):
            print(f"Airflow is up: {stack.base_url}  (login {ADMIN_USER} / {ADMIN_PASSWORD}); "
                  f"exports go to {stack.export_uri}")
            print(f"Metrics bridge: {stack.metrics_url} (StatsD on udp://127.0.0.1:{stack.statsd_port})", flush=True)
            return stay_up(stack) if args.command == "up" else demo(stack)
    except PortTakenError as exc:
        print(f"launcher: {exc}. Stop that program or choose another port: --port N (or {PORT_ENV}=N).",
              file=sys.stderr)
        return 2
    except ComponentExited as exc:
        print(f"launcher: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
