"""The test harness's Airflow: the launcher's :class:`~scripts.stack.Stack`, and what only tests need.

* :func:`e2e_stack` starts the end-to-end stack: a temporary home on free ports, the bridge, the
  test-only DAGs of ``tests/e2e/dags/`` (a second DAG bundle) and a throw-away PostgreSQL server
  reachable as connection ``e2e_pg`` (``e2e_pg_closed``: the same password, a closed port);
* :func:`celery_stack` starts the CeleryExecutor topology (PostgreSQL, Redis, an S3 server, two workers)
  with the DAGs of ``tests/e2e/celery_dags/`` and a short task heartbeat timeout;
* :func:`wait_until` polls a condition; :func:`launcher` runs ``python -m scripts.launcher``.

Tests import the stack's API from here, never from ``scripts/`` by path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from scripts.stack import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    REPO,
    ComponentExited,
    PortTakenError,
    Stack,
    free_port,
    running_stack,
)
from scripts.stack.celery import CeleryServices
from scripts.stack.runs import run_and_collect, validation_report
from tests.support.postgres import PostgresServer

__all__ = [
    "ADMIN_PASSWORD", "ADMIN_USER", "E2E_MAX_QUEUE_DEPTH", "REPO", "VIEWER_PASSWORD", "VIEWER_USER",
    "CeleryServices", "ComponentExited", "PortTakenError", "Stack", "celery_stack", "e2e_stack",
    "free_port", "launcher", "process_running", "read", "run_and_collect", "validation_report", "wait_until",
]

E2E_DAGS = Path(__file__).resolve().parents[1] / "e2e" / "dags"
CELERY_DAGS = Path(__file__).resolve().parents[1] / "e2e" / "celery_dags"
#: A task without heartbeat for this long is failed (and retried) by the scheduler: a lost worker's task.
HEARTBEAT_TIMEOUT_SECONDS = 20
VIEWER_USER = "viewer"
VIEWER_PASSWORD = "viewer"
#: ``[export] max_queue_depth`` of the e2e stack.
E2E_MAX_QUEUE_DEPTH = 20
T = TypeVar("T")


@contextmanager
def e2e_stack(postgres: PostgresServer) -> Iterator[Stack]:
    """Start the end-to-end stack; always stop it and remove its temporary home.

    :param postgres: the running server behind connections ``e2e_pg`` and ``e2e_pg_closed``.
    """
    home = Path(tempfile.mkdtemp(prefix="airflow-export-e2e-"))
    # A second user with the Viewer role: may read runs and files, may not trigger (403 tests).
    (home / "passwords.json").write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD, VIEWER_USER: VIEWER_PASSWORD}))
    settings = {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin,{VIEWER_USER}:viewer",
        # the request API's admission limit for the load test (tests/e2e/test_request_load.py)
        "AIRFLOW__EXPORT__MAX_QUEUE_DEPTH": str(E2E_MAX_QUEUE_DEPTH),
    }
    connections = {
        # A real server that checks the password (scram-sha-256).
        "AIRFLOW_CONN_E2E_PG": postgres.airflow_connection_json(),
        # The same credentials where nothing listens: the export fails while connecting.
        "AIRFLOW_CONN_E2E_PG_CLOSED": json.dumps({
            "conn_type": "postgres", "host": "127.0.0.1", "port": free_port(),
            "login": postgres.user, "password": postgres.password, "schema": postgres.dbname,
        }),
    }
    stack = Stack(home, api_port=free_port(), bridge=True, extra_env={**settings, **connections},
                         extra_dag_bundles={"e2e-test-dags": E2E_DAGS})
    try:
        with running_stack(stack) as started:
            yield started
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def celery_stack() -> Iterator[tuple[Stack, CeleryServices]]:
    """Start the Celery topology on free ports (a temporary home); always stop it and remove its files."""
    home = Path(tempfile.mkdtemp(prefix="airflow-export-celery-e2e-"))
    services = CeleryServices()
    settings = {
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_SECONDS),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    }
    stack = Stack(home, api_port=free_port(), topology=services.topology(), bridge=True, extra_env=settings,
                  extra_dag_bundles={"e2e-celery-dags": CELERY_DAGS})
    try:
        with running_stack(stack, timeout=300) as started:
            yield started, services
    finally:
        shutil.rmtree(home, ignore_errors=True)


def wait_until(check: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """Call ``check`` every ``interval`` s until it returns a true value; return that value.

    :raises AssertionError: still false after ``timeout`` s (the message is ``what``).
    """
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what} (waited {timeout:.0f} s)"
        time.sleep(interval)
    return result


def process_running(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie waiting to be reaped (reads ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def launcher(*args: str, output: Path) -> subprocess.Popen:
    """Start ``python -m scripts.launcher *args`` from the repository root.

    :param output: folder for its ``stdout.txt`` and ``stderr.txt`` (read them with :func:`read`).
    """
    output.mkdir(parents=True, exist_ok=True)
    with open(output / "stdout.txt", "wb") as out, open(output / "stderr.txt", "wb") as err:
        return subprocess.Popen([sys.executable, "-m", "scripts.launcher", *args], cwd=REPO, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)


def read(path: Path) -> str:
    """A text file's content, "" when it does not exist."""
    return path.read_text(errors="replace") if path.exists() else ""
