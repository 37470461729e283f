"""The Celery topology's settings, how a stack runs a topology's services (with stand-ins), and the
launcher's files table; the real topology runs in tests/e2e/test_celery_topology.py."""

from __future__ import annotations

import json
import sys

from airflow_export.names import EXPORT_ROOT_ENV, WORKER_ENV
from scripts.launcher import files_table
from scripts.stack import TOPOLOGIES, Component, Stack, Topology
from scripts.stack.celery import EXPORT_ROOT, ROOT_CONN_ID, WORKERS, CeleryServices


def test_every_listening_port_is_its_own_and_named():
    services = CeleryServices()
    ports = services.ports()
    assert set(ports) == {"postgres", "redis", "s3", "triggerer log server", "worker-w1 log server",
                          "worker-w2 log server"}
    assert len(set(ports.values())) == len(ports)  # two workers on one host would clash on a shared port


def test_the_environment_configures_celery_and_the_export_root_once():
    services = CeleryServices()
    env = services.env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://127.0.0.1:{services.redis_port}/0"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert (env["AIRFLOW__EXPORT__ROOT"], env["AIRFLOW__EXPORT__ROOT_CONN_ID"]) == (EXPORT_ROOT, ROOT_CONN_ID)
    conn = json.loads(env[f"AIRFLOW_CONN_{ROOT_CONN_ID.upper()}"])
    assert conn["extra"]["endpoint_url"] == f"http://127.0.0.1:{services.s3_port}"


def test_each_worker_has_its_name_log_port_and_staging_directory():
    services = CeleryServices()
    workers = [services.worker(name) for name in WORKERS]
    for name, worker in zip(WORKERS, workers, strict=True):
        assert worker.argv[1:5] == ("celery", "worker", "--celery-hostname", f"{name}@%h")
        assert worker.env[WORKER_ENV] == name
        assert worker.env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == str(services.log_ports[name])
        assert worker.env["TMPDIR"] == str(services.workdir / f"{name}-tmp")


def test_files_table_shows_object_paths_below_the_root_and_the_worker():
    meta = {"duration_seconds": 1.5, "worker": "w2",
            "files": [{"path": f"{EXPORT_ROOT}/batch/r1/a.csv", "records": 1000, "bytes": 2048}]}
    table = files_table([("csv_1k", meta)], EXPORT_ROOT).splitlines()
    assert table[0].split() == ["task", "path", "records", "bytes", "seconds", "worker"]
    assert table[2].split() == ["csv_1k", "batch/r1/a.csv", "1,000", "2,048", "1.50", "w2"]


def test_files_table_without_workers_has_no_worker_column(tmp_path):
    meta = {"duration_seconds": 0.25, "files": [{"path": str(tmp_path / "x" / "a.csv"), "records": 1, "bytes": 9}]}
    table = files_table([("t", meta)], tmp_path).splitlines()
    assert table[0].split() == ["task", "path", "records", "bytes", "seconds"]
    assert table[2].split() == ["t", "x/a.csv", "1", "9", "0.25"]


class _Recorder:
    """A stand-in lifecycle that records when the stack calls it."""

    def __init__(self, stack_ref: list) -> None:
        self.calls: list[str] = []
        self.stack_ref = stack_ref

    def prepare(self) -> None:
        self.calls.append(f"prepare (running: {sorted(self.stack_ref[0].processes.running)})")

    def services_ready(self) -> None:
        self.calls.append(f"ready (running: {sorted(self.stack_ref[0].processes.running)})")

    def cleanup(self) -> None:
        self.calls.append(f"cleanup (running: {sorted(self.stack_ref[0].processes.running)})")

    def ports(self) -> dict[str, int]:
        return {"db": 5}


def test_services_start_after_prepare_and_are_cleaned_up_after_stop(tmp_path):
    ref: list = []
    lifecycle = _Recorder(ref)
    service = Component("db", (sys.executable, "-c", "import time; time.sleep(600)"))
    topology = Topology("stand-in", {}, (), services=(service,), export_root="s3://b/p", lifecycle=lifecycle)
    stack = Stack(tmp_path / "home", topology=topology)
    ref.append(stack)
    assert stack.listening_ports() == {"api-server": 8080, "db": 5}
    assert stack.export_uri == "s3://b/p" and EXPORT_ROOT_ENV not in stack.env()
    stack.start_services()
    proc = stack.processes.running["db"]
    assert proc.poll() is None
    stack.stop(timeout=1)
    assert proc.returncode is not None
    assert lifecycle.calls == ["prepare (running: [])", "ready (running: ['db'])", "cleanup (running: [])"]


def test_the_local_topology_keeps_its_export_root_in_the_environment(tmp_path):
    stack = Stack(tmp_path / "home", topology=TOPOLOGIES["local"]())
    assert stack.env()[EXPORT_ROOT_ENV] == str(tmp_path / "home" / "exports") == stack.export_uri
    stack.start_services()  # no services: nothing happens
    assert stack.processes.running == {}
