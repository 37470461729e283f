"""export_single triggered with Params, and the plugin's /export API, in a real Airflow."""

from __future__ import annotations

import csv
import urllib.error
import urllib.request

import pytest

from airflow_export.validation import parse_exposition, sum_values

pytestmark = pytest.mark.e2e


def get(stack, path: str, token: str | None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(f"{stack.base_url}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_export_single_params_and_plugin_status(airflow_stack):
    stack = airflow_stack
    stack.api.wait_dag("export_single")
    # The Params' JSON schema rejects bad input before any run exists.
    for bad in ({"records": -1, "format": "csv"}, {"records": 10, "format": "xlsx"}, {"records": "many"}):
        with pytest.raises(urllib.error.HTTPError) as err:
            stack.api.trigger("export_single", bad)
        assert err.value.code == 400, bad

    run_id = stack.api.trigger("export_single", {"records": 321, "format": "csv"})
    run = stack.api.wait_run("export_single", run_id, timeout=300)
    assert run["state"] == "success"
    states = {t["task_id"]: t["state"] for t in stack.api.task_instances("export_single", run_id)}
    assert states["export_csv"] == "success" and states["export_pdf"] == "skipped"
    meta = stack.api.xcom("export_single", run_id, "export_csv")
    with open(meta["path"], newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) == 322

    # The plugin's API obeys the auth manager ...
    assert get(stack, "/export/status", None)[0] == 401
    assert get(stack, "/export/status", "not-a-jwt")[0] == 403
    # ... and reports the pool and the export just made.
    import json

    code, body = get(stack, "/export/status", stack.api.token())
    assert code == 200, body
    status = json.loads(body)
    assert status["pool"]["name"] == "export_pool" and status["pool"]["total"] == 5
    assert status["pool"]["running"] == 0 and status["running_exports"] == []
    mine = [e for e in status["last_exports"] if e["run_id"] == run_id]
    assert mine == [{
        "dag_id": "export_single", "run_id": run_id, "task_id": "export_csv", "map_index": -1, "status": "success",
        "end_date": mine[0]["end_date"], "path": meta["path"], "format": "csv", "records": 321,
        "bytes": meta["bytes"], "duration_seconds": meta["duration_seconds"],
    }]
    code, body = get(stack, "/export/status?dag_id=export_single", stack.api.token())
    assert code == 200 and {e["dag_id"] for e in json.loads(body)["last_exports"]} == {"export_single"}
    assert get(stack, "/export/status?pool=nope", stack.api.token())[0] == 404

    code, body = get(stack, "/export/metrics", stack.api.token())
    assert code == 200
    assert sum_values(parse_exposition(body.decode()), "airflow_export_records_total", {"format": "csv"}) >= 321
    assert get(stack, "/export/metrics", None)[0] == 401
