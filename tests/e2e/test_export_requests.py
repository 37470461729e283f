"""The request API in a real Airflow: POST /export/requests, its status URL, downloads, and the client.

Runs against the e2e stack (admin, and ``viewer`` with Airflow's Viewer role).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import urllib.parse

import pytest

from airflow_export.client.api import ExportClient
from airflow_export.client.cli import main as client_main
from tests.support.stack import ADMIN_PASSWORD, ADMIN_USER, VIEWER_PASSWORD, VIEWER_USER

pytestmark = pytest.mark.e2e

DAG_ID = "export_single"


@pytest.fixture(scope="module")
def admin(airflow_stack) -> ExportClient:
    airflow_stack.api.wait_dag(DAG_ID)
    return ExportClient(airflow_stack.base_url, ADMIN_USER, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def viewer(airflow_stack) -> ExportClient:
    return ExportClient(airflow_stack.base_url, VIEWER_USER, VIEWER_PASSWORD)


def post(client: ExportClient, body: dict, key: str | None = None) -> tuple[int, dict, dict]:
    status, headers, data = client.call("POST", "/export/requests", body, {"Idempotency-Key": key} if key else None)
    return status, headers, json.loads(data)


def run_ids(stack) -> set[str]:
    return {r["dag_run_id"] for r in stack.api.runs(DAG_ID, limit=100)}


def test_refusals_create_no_run(airflow_stack, admin, viewer):
    stack = airflow_stack
    before = run_ids(stack)
    # authentication and the permission to trigger the DAG (Viewer may read, not trigger)
    assert admin.call("POST", "/export/requests", {"conf": {}}, auth=False)[0] == 401
    forged = ExportClient(stack.base_url, ADMIN_USER, ADMIN_PASSWORD)
    forged._token = "not-a-jwt"
    assert post(forged, {"conf": {}})[0] == 403
    assert post(viewer, {"conf": {"records": 5, "format": "csv"}})[0] == 403
    # the Params' schema validates conf, with its message
    status, _, body = post(admin, {"conf": {"records": -1, "format": "csv"}})
    assert status == 400 and body["detail"].startswith("Invalid input for param records: -1 is less than the "
                                                       "minimum of 1"), body
    status, _, body = post(admin, {"conf": {"records": 10, "format": "xlsx"}})
    assert status == 400 and "'xlsx' is not one of ['csv', 'pdf']" in body["detail"], body
    # only export DAGs
    status, _, body = post(admin, {"dag_id": "export_validation", "conf": {}})
    assert (status, body["detail"]) == (404, "DAG 'export_validation' has no export task (ExportCsvOperator, "
                                             "ExportPdfOperator or a task in export_pool): only export DAGs can be "
                                             "requested here")
    status, _, body = post(admin, {"dag_id": "no_such_dag"})
    assert (status, body) == (404, {"detail": "DAG 'no_such_dag' not found"})
    assert post(admin, {"conf": {}, "surprise": 1})[0] == 422
    assert run_ids(stack) == before


def test_request_wait_download_and_idempotency(airflow_stack, admin, viewer):
    stack = airflow_stack
    before = run_ids(stack)
    conf = {"records": 123, "format": "csv"}
    status, headers, body = post(admin, {"conf": conf}, key="test-key-1")
    assert status == 202, body
    run_id = body["run_id"]
    assert run_id.startswith("request__") and body["dag_id"] == DAG_ID
    quoted = urllib.parse.quote(run_id, safe="")
    assert body["status_url"] == f"{stack.base_url}/export/requests/{DAG_ID}/{quoted}" == headers["location"]
    assert run_ids(stack) - before == {run_id}
    # the same key again: the same run (200), never a second one; with another conf: 409
    status, headers, again = post(admin, {"conf": conf}, key="test-key-1")
    assert (status, again["run_id"], headers["location"]) == (200, run_id, body["status_url"])
    status, _, clash = post(admin, {"conf": {"records": 124, "format": "csv"}}, key="test-key-1")
    assert status == 409 and run_id in clash["detail"]
    assert run_ids(stack) - before == {run_id}
    # Airflow's own trigger path: a manual run, triggered by the user through the REST API
    run = stack.api.request("GET", f"/dags/{DAG_ID}/dagRuns/{quoted}")
    assert (run["run_type"], run["triggered_by"], run["triggering_user_name"], run["conf"]) == (
        "manual", "rest_api", ADMIN_USER, conf)

    done = admin.wait(body["status_url"], timeout=300)
    assert done["state"] == "success", stack.api.task_log(DAG_ID, run_id, "export_csv")[-2000:]
    meta = stack.api.xcom(DAG_ID, run_id, "export_csv")
    (entry,) = done["files"]
    assert {k: entry[k] for k in ("task_id", "path", "records", "bytes", "sha256")} == {
        "task_id": "export_csv", "path": meta["path"], "records": 123, "bytes": meta["bytes"], "sha256": meta["sha256"]}
    assert entry["download_url"] == f"{body['status_url']}/files/export_csv/0"

    # the download: headers, bytes, rows
    code, headers, data = viewer.call("GET", entry["download_url"])  # reading task instances is enough
    assert code == 200
    assert (headers["content-type"], headers["content-disposition"], int(headers["content-length"])) == (
        "text/csv; charset=utf-8", 'attachment; filename="records.csv"', meta["bytes"])
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0][0] == "id" and [int(r[0]) for r in rows[1:]] == list(range(1, 124))
    assert admin.call("GET", entry["download_url"], auth=False)[0] == 401
    assert admin.call("GET", f"{body['status_url']}/files/export_csv/1")[0] == 404
    assert admin.call("GET", f"{body['status_url']}/files/export_pdf/0")[0] == 404
    assert admin.call("GET", f"/export/requests/{DAG_ID}/no_such_run")[0] == 404

    # only what the export recorded, inside the export root, never through a symlink
    outside = stack.home / "secret.txt"
    outside.write_text("not for download")
    link = stack.export_root / DAG_ID / run_id / "link.csv"
    link.symlink_to(outside)
    xcom_url = f"/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/export_csv/xcomEntries/return_value"
    for path, expected, reason in (
        (str(outside), 403, "outside the export root"),
        (str(stack.export_root / DAG_ID / run_id / ".." / ".." / ".." / "secret.txt"), 403, "outside the export root"),
        (str(link), 403, "symlink"),
        ("relative/records.csv", 403, "not absolute"),
        (meta["path"] + ".gone", 410, "no longer there"),
    ):
        stack.api.request("PATCH", xcom_url, {"value": {**meta, "files": [{**entry, "path": path}]}})
        code, _, data = admin.call("GET", entry["download_url"])
        assert code == expected and reason in json.loads(data)["detail"], (path, code, data)
    # the recorded file, changed since: refused (its size differs from the record)
    stack.api.request("PATCH", xcom_url, {"value": {**meta, "files": [{**entry, "bytes": meta["bytes"] + 1}]}})
    code, _, data = admin.call("GET", entry["download_url"])
    assert code == 409 and "it changed" in json.loads(data)["detail"]
    stack.api.request("PATCH", xcom_url, {"value": meta})
    assert hashlib.sha256(admin.call("GET", entry["download_url"])[2]).hexdigest() == meta["sha256"]


def test_concurrent_retries_with_one_key_make_one_run(airflow_stack, admin):
    stack = airflow_stack
    before = run_ids(stack)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        status, _, body = post(admin, {"conf": {"records": 3, "format": "pdf"}}, key="test-key-concurrent")
        answers.append((status, body.get("run_id", body)))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(s for s, _ in answers) == [200] * 7 + [202], answers
    assert len({r for _, r in answers}) == 1
    assert run_ids(stack) - before == {answers[0][1]}


def test_client_batch_downloads_every_file(airflow_stack, tmp_path, capsys):
    stack = airflow_stack
    code = client_main(["request", "--batch", "--json", "--download", str(tmp_path), "--url", stack.base_url,
                        "--user", ADMIN_USER, "--password", ADMIN_PASSWORD, "--timeout", "600"])
    results = json.loads(capsys.readouterr().out)
    assert code == 0, results
    assert [(r["format"], r["records"], r["state"]) for r in results] == [
        ("csv", 1000, "success"), ("csv", 5000, "success"), ("csv", 10_000, "success"),
        ("pdf", 1000, "success"), ("pdf", 5000, "success")]
    for r in results:
        (entry,) = r["files"]
        meta = stack.api.xcom(DAG_ID, r["run_id"], f"export_{r['format']}")
        local = tmp_path / r["run_id"] / f"records.{r['format']}"
        assert entry["downloaded"] == str(local)
        assert hashlib.sha256(local.read_bytes()).hexdigest() == meta["sha256"] == entry["sha256"]
        if r["format"] == "csv":
            with open(local, newline="", encoding="utf-8") as fh:
                assert sum(1 for _ in csv.reader(fh)) == r["records"] + 1
