"""The "Export files" tab on every DAG run in Airflow's UI (ADR 0063).

An Airflow 3 ``external_views`` entry (:data:`EXPORT_FILES_VIEW`, destination ``dag_run``) shows
``GET /export/ui/runs/{dag_id}/{run_id}`` in an iframe: a server-rendered HTML page (no JavaScript) that lists
the files the run's exports recorded, with download links to the routes of
:mod:`airflow_export.plugin.downloads`. The iframe is on the UI's origin, so the browser sends the UI's
session cookie and the auth manager decides as for the JSON status (read the DAG's task instances).
While the run is not finished the page reloads itself every 5 seconds.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from airflow_export.plugin.downloads import READ_TASKS, run_status

router = APIRouter()

#: The plugin's ``external_views`` entry: a tab "Export files" on every DAG run.
EXPORT_FILES_VIEW = {
    "name": "Export files",
    "href": "/export/ui/runs/{DAG_ID}/{RUN_ID}",
    "destination": "dag_run",
    "url_route": "export-files",
}
REFRESH_SECONDS = 5

STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 12px; color: #222; }
table { border-collapse: collapse; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } code { font-size: 12px; color: #555; }
@media (prefers-color-scheme: dark) { body { color: #eee; background: #1a1a1a; } a { color: #8ab4f8; } }
"""


def render(status: dict[str, Any]) -> str:
    """The HTML page for a run's status document (every value escaped)."""
    e = html.escape
    state = status["state"]
    refresh = "" if state in ("success", "failed") else f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
    if status["files"]:
        rows = "".join(
            f'<tr><td>{e(f["task_id"])}</td><td><a href="{e(f["download_url"])}" download>'
            f'{e(f["path"].rsplit("/", 1)[-1])}</a></td><td class="n">{f["records"]:,}</td>'
            f'<td class="n">{f["bytes"]:,}</td><td><code title="{e(f["path"])}">{e(f["sha256"][:16])}</code></td></tr>'
            for f in status["files"])
        body = (f'<table id="export-files"><tr><th>task</th><th>file</th><th>records</th><th>bytes</th>'
                f'<th>sha256</th></tr>{rows}</table>')
    else:
        body = f'<p id="no-files">No export file recorded in this run yet (run state: {e(state)}).</p>'
    return (f'<!doctype html><html><head><meta charset="utf-8">{refresh}<title>Export files</title>'
            f'<style>{STYLE}</style></head><body><p>Run <b>{e(status["run_id"])}</b> of <b>{e(status["dag_id"])}</b>:'
            f' <span id="run-state">{e(state)}</span></p>{body}</body></html>')


@router.get("/ui/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=READ_TASKS)
def export_files_page(dag_id: str, run_id: str, request: Request) -> HTMLResponse:
    from airflow.utils.session import create_session

    try:
        with create_session() as session:
            status = run_status(session, request, dag_id, run_id)
    except HTTPException as exc:
        return HTMLResponse(f"<!doctype html><p>{html.escape(str(exc.detail))}</p>", status_code=exc.status_code)
    return HTMLResponse(render(status))
