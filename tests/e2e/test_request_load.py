"""Load test of admission control (loopback only, bounded): 20 concurrent clients send 200 requests as fast
as they can to a stack with ``[export] max_queue_depth = 20``.

Shown: some answers are 429 and every 429 carries an integer ``Retry-After``; the backlog of
``export_pool``, sampled from the metadata DB every 0.2 s by an independent query and read from the
bridge's high-water gauge, never exceeds the limit (the stated margin is 0, ADR 0060); with the
client's retry loop all 200 requests are accepted, each exactly once per idempotency key; every run
succeeds and its file downloads with the SHA-256 its XCom records. The figures go to
``test-artifacts/request-load.json``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, suppress

import pytest

from airflow_export.client.api import ExportClient, Submitted
from airflow_export.validation import parse_exposition, sum_values
from tests.support.stack import ADMIN_PASSWORD, ADMIN_USER, E2E_MAX_QUEUE_DEPTH, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = "e2e_request_load"
CLIENTS = 20
REQUESTS = 200
#: How far admitted requests may push the backlog past the limit (ADR 0060: none).
MARGIN = 0

#: The backlog of a DAG with one export task, counted independently of the plugin's query: its
#: export task instances of queued or running runs that have not started yet.
BACKLOG_SQL = """
SELECT count(*) FROM task_instance ti
JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
WHERE ti.pool = 'export_pool' AND dr.state IN ('queued', 'running')
  AND (ti.state IS NULL OR ti.state IN ('scheduled', 'queued', 'up_for_retry', 'up_for_reschedule'))
"""


class BacklogSampler(threading.Thread):
    """Reads the backlog from the metadata DB (read-only) every ``interval`` s until stopped."""

    def __init__(self, db_path, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.db_path, self.interval = db_path, interval
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)) as db:
            while not self.stopped.is_set():
                with suppress(sqlite3.OperationalError):  # locked for longer than the timeout: skip one sample
                    self.samples.append(db.execute(BACKLOG_SQL).fetchone()[0])
                self.stopped.wait(self.interval)


def all_runs(stack) -> list[dict]:
    """Every run of the load DAG (the REST API gives at most 100 a page)."""
    runs: list[dict] = []
    while True:
        page = stack.api.request("GET", f"/dags/{DAG_ID}/dagRuns?order_by=run_after&limit=100&offset={len(runs)}")
        runs += page["dag_runs"]
        if len(page["dag_runs"]) < 100:
            return runs


def test_200_requests_from_20_clients(airflow_stack, artifacts):
    stack = airflow_stack
    stack.api.wait_dag(DAG_ID)
    clients = [ExportClient(stack.base_url, ADMIN_USER, ADMIN_PASSWORD) for _ in range(CLIENTS)]
    for client in clients:
        client.token()
    sampler = BacklogSampler(stack.home / "airflow.db")
    sampler.start()

    def request(n: int) -> Submitted:
        client = clients[n % CLIENTS]
        return client.submit({"records": 20, "format": "csv"}, dag_id=DAG_ID, key=f"load-{n}", max_tries=200,
                             max_wait=10)

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        submitted = list(pool.map(request, range(REQUESTS)))
    accepted_seconds = time.monotonic() - started

    run_ids = [s.answer["run_id"] for s in submitted]
    assert len(set(run_ids)) == REQUESTS  # one run per idempotency key
    assert {s.status for s in submitted} <= {200, 202}
    refusals = sum(s.refusals for s in submitted)
    retry_afters = [value for s in submitted for value in s.retry_afters]
    assert refusals > 0 and len(retry_afters) == refusals
    assert all(v is not None and v.isdigit() and int(v) >= 1 for v in retry_afters), set(retry_afters)

    def all_finished() -> list[dict] | None:
        runs = all_runs(stack)
        return runs if sum(r["state"] in ("success", "failed") for r in runs) >= REQUESTS else None

    runs = wait_until(all_finished, timeout=1200, what="the 200 runs to finish", interval=3)
    sampler.stopped.set()
    sampler.join(15)
    finished_seconds = time.monotonic() - started

    # no duplicate run: exactly the accepted runs exist, all succeeded
    assert sorted(r["dag_run_id"] for r in runs) == sorted(run_ids)
    assert {r["state"] for r in runs} == {"success"}

    # the backlog never went past the limit, seen from the DB and from the bridge
    assert len(sampler.samples) > 50
    db_max = max(sampler.samples)
    assert db_max <= E2E_MAX_QUEUE_DEPTH + MARGIN, db_max
    exposition = parse_exposition(stack.scrape())
    gauge_max = sum_values(exposition, "airflow_pool_scheduled_slots_high_water", {"pool": "export_pool"})
    assert gauge_max is not None and gauge_max <= E2E_MAX_QUEUE_DEPTH + MARGIN
    rejected = sum_values(exposition, "airflow_export_requests_total", {"status": "rejected"})
    assert rejected is not None and rejected >= refusals  # every 429 counted (the e2e session may add more)

    # every accepted request: its file downloads, equal to what its XCom records
    for s in submitted:
        status = clients[0].status(s.answer["status_url"])
        (entry,) = status["files"]
        meta = stack.api.xcom(DAG_ID, s.answer["run_id"], "export_csv")
        code, _, data = clients[0].call("GET", entry["download_url"])
        assert code == 200 and hashlib.sha256(data).hexdigest() == meta["sha256"] == entry["sha256"]

    figures = {
        "clients": CLIENTS, "requests": REQUESTS, "limit": E2E_MAX_QUEUE_DEPTH, "answers_429": refusals,
        "requests_refused_at_least_once": sum(1 for s in submitted if s.refusals),
        "retry_after_seconds": sorted({int(v) for v in retry_afters}),
        "backlog_max_db": db_max, "backlog_samples": len(sampler.samples), "scheduled_slots_high_water": gauge_max,
        "seconds_until_all_accepted": round(accepted_seconds, 1), "seconds_until_all_done": round(finished_seconds, 1),
    }
    (artifacts / "request-load.json").write_text(json.dumps(figures, indent=2))
    print("request load:", json.dumps(figures))
