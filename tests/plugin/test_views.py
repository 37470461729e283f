"""The "Export files" tab: registered as a dag_run external view, rendered with every value escaped."""

from __future__ import annotations

from airflow_export.plugin import AirflowExportPlugin
from airflow_export.plugin.views import EXPORT_FILES_VIEW, render


def status(state="success", files=()):
    return {"dag_id": "export_single", "run_id": "manual__<script>", "state": state, "files": list(files)}


FILE = {"task_id": "export_csv", "path": "/root/x/<b>records.csv", "records": 1234, "bytes": 56789,
        "sha256": "ab" * 32, "download_url": 'http://h/export/requests/export_single/r/files/export_csv/0?a="x"'}


def test_registered_as_a_tab_on_every_dag_run():
    assert AirflowExportPlugin.external_views == [EXPORT_FILES_VIEW]
    assert EXPORT_FILES_VIEW == {"name": "Export files", "href": "/export/ui/runs/{DAG_ID}/{RUN_ID}",
                                 "destination": "dag_run", "url_route": "export-files"}


def test_files_are_listed_with_download_links_and_escaped():
    page = render(status(files=[FILE]))
    assert '<a href="http://h/export/requests/export_single/r/files/export_csv/0?a=&quot;x&quot;" download>' \
           '&lt;b&gt;records.csv</a>' in page
    assert '<td class="n">1,234</td><td class="n">56,789</td>' in page
    assert "manual__&lt;script&gt;" in page and "<script>" not in page
    assert 'http-equiv="refresh"' not in page  # finished: no reload


def test_a_running_run_without_files_reloads():
    page = render(status(state="running"))
    assert 'id="no-files"' in page and "(run state: running)" in page
    assert '<meta http-equiv="refresh" content="5">' in page
