"""A client of Airflow's REST API (``/api/v2``), authenticated with a JWT from ``/auth/token``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

TERMINAL_RUN_STATES = ("success", "failed")


class AirflowApi:
    """Calls and waits against one Airflow API server.

    :param base_url: e.g. ``http://127.0.0.1:8080``.
    :param user: login of the SimpleAuthManager user.
    :param password: its password.
    :param alive: called on every poll of a wait; raises when the stack behind the API has died, so a
        wait ends with that reason instead of a timeout.
    """

    def __init__(self, base_url: str, user: str, password: str, alive: Callable[[], None] = lambda: None) -> None:
        self.base_url = base_url
        self.user = user
        self.password = password
        self.alive = alive
        self._token: str | None = None

    def health(self) -> dict:
        """``GET /api/v2/monitor/health`` (no login needed).

        :raises OSError: no answer (``urllib.error.URLError``, connection errors, timeouts).
        """
        with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=5) as resp:
            return json.load(resp)

    def token(self) -> str:
        """A JWT for the user from ``POST /auth/token`` (fetched once)."""
        if self._token is None:
            body = json.dumps({"username": self.user, "password": self.password}).encode()
            req = urllib.request.Request(f"{self.base_url}/auth/token", data=body,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                self._token = json.load(resp)["access_token"]
        return self._token

    def request(self, method: str, path: str, body: dict | None = None, retries: int = 3) -> Any:
        """Call ``/api/v2{path}``; return the JSON answer.

        A 5xx answer is retried (``retries`` times, 2 s apart): on SQLite, the API server's write can time
        out on the database lock while tasks write too, and such a transaction was rolled back, so
        repeating it is safe.

        :raises urllib.error.HTTPError: non-2xx answer (after the retries for 5xx); method, path and the
            answer's body are in its message.
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
        """Wait until the dag-processor has parsed ``dag_id``.

        :raises TimeoutError: not parsed in time (the import errors are in the message).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            try:
                self.request("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            time.sleep(1)
        errors = self.request("GET", "/importErrors").get("import_errors", [])
        raise TimeoutError(f"DAG {dag_id} not parsed after {timeout:.0f} s; import errors: {errors}")

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger a run of ``dag_id``; return its run id."""
        run = self.request("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def runs(self, dag_id: str, limit: int = 20) -> list[dict]:
        """The newest runs of ``dag_id`` (newest first)."""
        return self.request("GET", f"/dags/{dag_id}/dagRuns?order_by=-run_after&limit={limit}")["dag_runs"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        """Wait for a run to end; return the run (``state`` is ``success`` or ``failed``).

        :raises TimeoutError: still running after ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            run = self.request("GET", f"/dags/{dag_id}/dagRuns/{_quote(run_id)}")
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            time.sleep(1)
        raise TimeoutError(f"{dag_id} run {run_id} did not finish in {timeout:.0f} s")

    def wait_triggered_run(self, dag_id: str, conf_key: str, conf_value: str, timeout: float = 300) -> dict:
        """Wait for the run of ``dag_id`` whose conf has ``conf_key == conf_value`` to end; return it.

        :raises TimeoutError: no such run, or it did not end, within ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            for run in self.runs(dag_id):
                if (run.get("conf") or {}).get(conf_key) == conf_value:
                    return self.wait_run(dag_id, run["dag_run_id"], max(1.0, deadline - time.monotonic()))
            time.sleep(1)
        raise TimeoutError(f"no {dag_id} run with {conf_key}={conf_value!r} after {timeout:.0f} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Task instances of a run, with state, start_date, end_date, pool, try_number, operator."""
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances?limit=1000")[
            "task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        """The ``return_value`` XCom of a task instance, deserialised."""
        entry = self.request("GET", f"/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances/{task_id}"
                                    "/xcomEntries/return_value?deserialize=true")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) else value

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """The log of one try of a task instance as text: each line's event, and exceptions as
        ``ExcType: message`` lines (from the structured log's ``error_detail``)."""
        data = self.request("GET", f"/dags/{dag_id}/dagRuns/{_quote(run_id)}/taskInstances/{task_id}"
                                   f"/logs/{try_number}?full_content=true")
        content = data.get("content", "")
        if isinstance(content, list):
            return "\n".join(_log_line(c) for c in content)
        return str(content)


def _quote(run_id: str) -> str:
    return urllib.parse.quote(run_id, safe="")


def _log_line(entry: object) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    lines = [str(entry.get("event", entry))]
    for err in entry.get("error_detail") or []:
        if isinstance(err, dict):
            lines.append(f"{err.get('exc_type', '')}: {err.get('exc_value', '')}")
    return "\n".join(lines)
