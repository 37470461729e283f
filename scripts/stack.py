"""Run a local Airflow 3 for airflow-export: demo, interactive use, and the end-to-end tests.

One place knows how to configure, start, drive and stop the stack:

* an Airflow home (SQLite metadata DB, LocalExecutor) with the pool ``export_pool`` (5 slots),
  the ``export_demo_db`` connection and the export root;
* the components: ``airflow scheduler``, ``dag-processor``, ``api-server`` (and the
  ``airflow-export-bridge`` when metrics are on), each in its own process group, stopped with
  SIGTERM, a timeout, then SIGKILL of the whole group;
* the REST API (``/api/v2``) with a JWT from ``/auth/token``: trigger runs, wait, list task instances.

Command line::

    python scripts/stack.py demo     # init, start, run export_batch + flights_export, print files, stop
    python scripts/stack.py up       # init, start and stay up until Ctrl-C (prints the UI address)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from airflow_export.names import EXPORT_POOL, EXPORT_POOL_SLOTS

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POOL = EXPORT_POOL
POOL_SLOTS = EXPORT_POOL_SLOTS
DEMO_CONN = "export_demo_db"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    """A UDP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """A local Airflow stack rooted at ``home``.

    :param home: the Airflow home (created if missing).
    :param api_port: port of the API server / UI on 127.0.0.1.
    :param pool_slots: slots of ``export_pool``.
    :param statsd_port: when set, Airflow sends StatsD metrics to 127.0.0.1:statsd_port.
    :param metrics_port: HTTP port of the bridge's ``/metrics`` (with ``bridge=True``).
    :param bridge: start ``airflow-export-bridge`` with ``deploy/statsd/mapping.yml`` and point
        Airflow's ``[metrics]`` at it.
    :param extra_dag_bundles: more DAG folders (bundle name -> folder), each a ``LocalDagBundle``
        beside the default ``dags-folder`` bundle (the repository's ``dags/``); the end-to-end tests
        add their own DAGs this way.
    """

    home: Path
    api_port: int = 8080
    pool_slots: int = POOL_SLOTS
    statsd_port: int | None = None
    metrics_port: int | None = None
    bridge: bool = False
    extra_dag_bundles: dict[str, Path] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    _token: str | None = None

    # -- configuration --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def export_root(self) -> Path:
        return self.home / "exports"

    @property
    def demo_db(self) -> Path:
        return self.home / "data" / "demo.db"

    def env(self) -> dict[str, str]:
        """Environment for every Airflow command of this stack."""
        env = dict(os.environ)
        secret_file = self.home / ".jwt_secret"
        if not secret_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            secret_file.write_text(secrets.token_urlsafe(32))
        passwords = self.home / "passwords.json"
        if not passwords.exists():
            passwords.write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secret_file.read_text().strip(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__POOL_METRICS_INTERVAL": "1",
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "AIRFLOW_EXPORT_ROOT": str(self.export_root),
            f"AIRFLOW_CONN_{DEMO_CONN.upper()}": json.dumps({"conn_type": "sqlite", "host": str(self.demo_db)}),
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        })
        if self.extra_dag_bundles:
            local = "airflow.dag_processing.bundles.local.LocalDagBundle"
            bundles = [{"name": "dags-folder", "classpath": local, "kwargs": {}}]
            bundles += [{"name": name, "classpath": local, "kwargs": {"path": str(path)}}
                        for name, path in self.extra_dag_bundles.items()]
            env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
        if self.metrics_port:
            env["AIRFLOW_EXPORT_METRICS_URL"] = self.metrics_url
        if self.statsd_port:
            env.update({
                "AIRFLOW__METRICS__STATSD_ON": "True",
                "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                "AIRFLOW__METRICS__STATSD_PORT": str(self.statsd_port),
                "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            })
        env.update(self.extra_env)
        return env

    def airflow(self, *args: str, timeout: float = 300) -> str:
        """Run an ``airflow`` CLI command; return its stdout.

        :raises RuntimeError: non-zero exit (stderr is in the message).
        """
        proc = subprocess.run([str(VENV_BIN / "airflow"), *args], env=self.env(), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc.stdout

    def init(self) -> None:
        """Migrate the metadata DB, create the pool, prepare the export root and the demo data."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.export_root.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")
        self.airflow("pools", "set", POOL, str(self.pool_slots), "Exports: the pool, not the code, bounds concurrency")
        sys.path.insert(0, str(REPO / "dags"))
        from demo_data import ensure_demo_db

        ensure_demo_db(str(self.demo_db))

    # -- processes ------------------------------------------------------------------------

    def start(self, components: tuple[str, ...] = ("api-server", "scheduler", "dag-processor")) -> None:
        """Start the bridge (if asked) and the components, each in its own process group.

        Output goes to ``home/logs/<name>.out``.
        """
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        if self.bridge:
            self.start_bridge()
        for name in components:
            log = open(self.home / "logs" / f"{name}.out", "ab")
            self.procs[name] = subprocess.Popen(
                [str(VENV_BIN / "airflow"), name], env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def start_process(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start any other process (e.g. the metrics bridge) under this stack's stop rules."""
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        log = open(self.home / "logs" / f"{name}.out", "ab")
        proc = subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_bridge(self, timeout: float = 30) -> None:
        """Start ``airflow-export-bridge`` on loopback and wait until ``/metrics`` answers."""
        self.statsd_port = self.statsd_port or free_udp_port()
        self.metrics_port = self.metrics_port or free_port()
        self.start_process("bridge", [
            str(VENV_BIN / "airflow-export-bridge"), "--statsd-port", str(self.statsd_port),
            "--metrics-port", str(self.metrics_port), "--mapping", str(REPO / "deploy" / "statsd" / "mapping.yml"),
        ])
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.metrics_url, timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError):
                if self.procs["bridge"].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bridge did not start:\n{self.log_tail('bridge')}") from None
                time.sleep(0.2)

    def scrape(self) -> str:
        """The bridge's ``/metrics`` exposition text."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as resp:
            return resp.read().decode()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every process group, wait up to ``timeout`` s, then SIGKILL what is left."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # also reaps children left in the group
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()

    def wait_healthy(self, timeout: float = 180) -> None:
        """Wait until the API server answers and the scheduler and dag-processor report healthy.

        :raises TimeoutError: not healthy in time (the last answer and log tails are in the message).
        """
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=5) as resp:
                    last = json.load(resp)
                if all(last.get(c, {}).get("status") == "healthy" for c in ("metadatabase", "scheduler", "dag_processor")):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as exc:
                last = repr(exc)
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy after {timeout:.0f} s: {last}\n{self.log_tail('scheduler')}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.home / "logs" / f"{name}.out"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- REST API -------------------------------------------------------------------------

    def token(self) -> str:
        """A JWT for the admin user from ``POST /auth/token``."""
        if self._token is None:
            body = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).encode()
            req = urllib.request.Request(f"{self.base_url}/auth/token", data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                self._token = json.load(resp)["access_token"]
        return self._token

    def api(self, method: str, path: str, body: dict | None = None, retries: int = 3) -> dict:
        """Call ``/api/v2{path}`` with the admin's token; return the JSON answer.

        A 5xx answer is retried (``retries`` times, 2 s apart): on SQLite, the API server's
        write can time out on the database lock while tasks write too, and such a
        transaction was rolled back, so repeating it is safe.

        :raises urllib.error.HTTPError: non-2xx answer (after the retries for 5xx).
        """
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(retries + 1):
            req = urllib.request.Request(
                f"{self.base_url}/api/v2{path}", data=data, method=method,
                headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    return json.load(resp)
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")[:2000]
                if exc.code >= 500 and attempt < retries:
                    time.sleep(2)
                    continue
                raise urllib.error.HTTPError(
                    exc.url, exc.code, f"{exc.reason}: {method} {path}: {detail}", exc.headers, None
                ) from None
        raise AssertionError("unreachable")

    def wait_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` (and it has no import error)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            time.sleep(1)
        errors = self.api("GET", "/importErrors").get("import_errors", [])
        raise TimeoutError(f"DAG {dag_id} not parsed after {timeout:.0f} s; import errors: {errors}")

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger a run of ``dag_id``; return its run id."""
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        """Wait for a run to end; return the run (``state`` is ``success`` or ``failed``).

        :raises TimeoutError: still running after ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        quoted = urllib.parse.quote(run_id, safe="")
        while time.monotonic() < deadline:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}")
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(1)
        raise TimeoutError(f"{dag_id} run {run_id} did not finish in {timeout:.0f} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Task instances of a run, with state, start_date, end_date, pool, try_number."""
        quoted = urllib.parse.quote(run_id, safe="")
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances?limit=1000")["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> object:
        """The ``return_value`` XCom of a task instance, deserialised."""
        quoted = urllib.parse.quote(run_id, safe="")
        entry = self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/return_value?deserialize=true")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The log of one try of a task instance as text: each line's event, and exceptions as
        ``ExcType: message`` lines (from the structured log's ``error_detail``)."""
        quoted = urllib.parse.quote(run_id, safe="")
        data = self.api("GET", f"/dags/{dag_id}/dagRuns/{quoted}/taskInstances/{task_id}/logs/{try_number}?full_content=true")
        content = data.get("content", "")
        if isinstance(content, list):
            return "\n".join(_log_line(c) for c in content)
        return str(content)


def _log_line(entry: object) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    lines = [str(entry.get("event", entry))]
    for err in entry.get("error_detail") or []:
        if isinstance(err, dict):
            lines.append(f"{err.get('exc_type', '')}: {err.get('exc_value', '')}")
    return "\n".join(lines)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


import urllib.parse  # noqa: E402  (used by the methods above)


@contextmanager
def running_stack(stack: Stack, *, init: bool = True, timeout: float = 180):
    """Init (optionally), start, wait healthy; always stop, even on failure."""
    try:
        if init:
            stack.init()
        stack.start()
        stack.wait_healthy(timeout)
        yield stack
    finally:
        stack.stop()


def files_table(results: list[tuple[str, dict]], root: Path) -> str:
    """A text table of exported files: task, path (relative to the export root), records, bytes, seconds."""
    rows = [("task", "path", "records", "bytes", "seconds")]
    for task_id, meta in results:
        for f in meta["files"]:
            rel = os.path.relpath(f["path"], root)
            rows.append((task_id, rel, f"{f['records']:,}", f"{f['bytes']:,}", f"{meta['duration_seconds']:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_and_collect(stack: Stack, dag_id: str, timeout: float = 900) -> tuple[dict, list[tuple[str, dict]]]:
    """Trigger ``dag_id``, wait, and return the run and [(task_id, export metadata)] for export tasks.

    :raises RuntimeError: the run failed (failed task ids and their log tails in the message).
    """
    stack.wait_dag(dag_id)
    run_id = stack.trigger(dag_id)
    started = time.monotonic()
    run = stack.wait_run(dag_id, run_id, timeout)
    run["wall_seconds"] = time.monotonic() - started
    tis = stack.task_instances(dag_id, run_id)
    if run["state"] != "success":
        failed = [t["task_id"] for t in tis if t["state"] not in ("success", "skipped")]
        logs = "\n".join(f"--- {t}:\n{stack.task_log(dag_id, run_id, t)[-3000:]}" for t in failed[:3])
        raise RuntimeError(f"{dag_id} run {run_id} ended {run['state']}; not successful: {failed}\n{logs}")
    exports = []
    for ti in sorted(tis, key=lambda t: t["task_id"]):
        if ti["state"] == "success" and ti["operator"] in ("ExportCsvOperator", "ExportPdfOperator"):
            exports.append((ti["task_id"], stack.xcom(dag_id, run_id, ti["task_id"])))
    return run, exports


def wait_triggered_run(stack: Stack, dag_id: str, conf_key: str, conf_value: str, timeout: float = 300) -> dict:
    """Wait for the run of ``dag_id`` whose conf has ``conf_key == conf_value`` to end; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stack.api("GET", f"/dags/{dag_id}/dagRuns?order_by=-run_after&limit=20")["dag_runs"]
        for run in runs:
            if (run.get("conf") or {}).get(conf_key) == conf_value:
                return stack.wait_run(dag_id, run["dag_run_id"], max(1.0, deadline - time.monotonic()))
        time.sleep(1)
    raise TimeoutError(f"no {dag_id} run with {conf_key}={conf_value!r} after {timeout:.0f} s")


def validation_report(stack: Stack, batch_run_id: str) -> tuple[dict, str]:
    """The export_validation run triggered by a batch run, and its assertion table (from the evidence)."""
    run = wait_triggered_run(stack, "export_validation", "export_folder", f"export_batch/{batch_run_id}")
    table_file = stack.home / "evidence" / run["dag_run_id"] / "assertions.txt"
    table = table_file.read_text() if table_file.exists() else "(no assertion table: see the task log)\n" + \
        stack.task_log("export_validation", run["dag_run_id"], "validate")[-3000:]
    return run, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["demo", "up"])
    parser.add_argument("--home", default=str(REPO / "airflow-home"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_EXPORT_API_PORT", "8080")))
    args = parser.parse_args(argv)
    stack = Stack(Path(args.home), api_port=args.port, bridge=True)
    # A second Ctrl-C / SIGTERM must still stop what we started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with running_stack(stack):
        print(f"Airflow is up: {stack.base_url}  (login {ADMIN_USER} / {ADMIN_PASSWORD}); exports go to {stack.export_root}")
        print(f"Metrics bridge: {stack.metrics_url} (StatsD on udp://127.0.0.1:{stack.statsd_port})", flush=True)
        if args.command == "up":
            try:
                while all(p.poll() is None for p in stack.procs.values()):
                    time.sleep(2)
                print("a component exited; stopping", file=sys.stderr)
                return 1
            except KeyboardInterrupt:
                print("stopping ...", flush=True)
                return 0
        stack.wait_dag("export_validation")
        status = 0
        for dag_id in ("export_batch", "flights_export"):
            run, exports = run_and_collect(stack, dag_id)
            print(f"\n{dag_id}: {run['state']} in {run['wall_seconds']:.1f} s (run {run['dag_run_id']})")
            print(files_table(exports, stack.export_root), flush=True)
            if dag_id == "export_batch":
                vrun, table = validation_report(stack, run["dag_run_id"])
                print(f"\nexport_validation: {vrun['state']} (evidence in {stack.home / 'evidence' / vrun['dag_run_id']})")
                print(table, flush=True)
                status = status or (0 if vrun["state"] == "success" else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
