"""export_single's trigger form in the real Airflow 3.3 UI, driven by headless Chromium (Selenium).

A person's path: sign in (SimpleAuthManager), open the DAG, open the trigger form that Airflow
generates from the Params, fill Records and Format, trigger. The run is then followed through the
REST API and the PDF it wrote is read back. The second test tries records = -1: the Records field
clamps it to the schema's minimum (1) when left, so it is fed through the form's "Configuration
JSON" instead, and the trigger is refused (the API's schema error shows in the dialog), no run made.

The third triggers a CSV export from the form, opens the run's "Export files" tab (the plugin's
``external_views`` page in an iframe), clicks the file's link and reads the downloaded rows back.

Screenshots go to ``test-artifacts/``: ``ui-trigger-form.png`` (the filled form), ``ui-export-files.png``
(the tab) and
``ui-trigger-form-invalid.png`` (the refusal); ``ui-trigger-form-failure.png``/``.html`` and
``ui-login-failure.png``/``.html`` only when a step fails.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from pypdf import PdfReader
from selenium.webdriver.common.by import By

from tests.support.browser import AirflowUI, chromium_driver, missing_browser_parts
from tests.support.stack import ADMIN_PASSWORD, ADMIN_USER

pytestmark = pytest.mark.e2e

DAG_ID = "export_single"


@pytest.fixture(scope="session")
def browser_ready() -> None:
    """Fail (never skip) before Airflow boots when Chromium or chromedriver is missing."""
    problems = missing_browser_parts()
    if problems:
        pytest.fail("the UI test needs Debian's Chromium and chromedriver: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def ui(browser_ready, airflow_stack, artifacts, tmp_path_factory):
    """A signed-in browser on the e2e stack's UI (one Chromium for the module, fresh profile)."""
    folder = tmp_path_factory.mktemp("chromium")
    airflow_stack.api.wait_dag(DAG_ID)
    with chromium_driver(folder / "profile", log_file=folder / "chromedriver.log") as driver:
        page = AirflowUI(driver, airflow_stack.base_url)
        with page.evidence_on_failure(artifacts / "ui-login-failure"):
            page.login(ADMIN_USER, ADMIN_PASSWORD, next_path=f"/dags/{DAG_ID}")
        yield page


def run_ids(stack) -> set[str]:
    """Ids of the newest 100 runs of export_single (a test session makes a handful)."""
    return {r["dag_run_id"] for r in stack.api.runs(DAG_ID, limit=100)}


def test_trigger_form_exports_2000_records_as_pdf(ui, airflow_stack, artifacts):
    stack = airflow_stack
    before = run_ids(stack)
    with ui.evidence_on_failure(artifacts / "ui-trigger-form-failure"):
        ui.open_dag(DAG_ID)
        form = ui.open_trigger_form(DAG_ID)
        # The form is generated from the Params: their titles label the fields, defaults fill them.
        assert (form.value("Records"), form.value("Format")) == ("1000", "csv")
        form.type_into("Records", "2000")
        form.choose("Format", "pdf")
        assert (form.value("Records"), form.value("Format")) == ("2000", "pdf")
        assert form.field("Records").get_attribute("aria-valuenow") == "2000"
        ui.snapshot(artifacts / "ui-trigger-form")
        form.submit()
        ui.toast("Dag Run Triggered")
        run_id = ui.run_id_from_url(DAG_ID)  # the UI opens the new run's page

    assert run_ids(stack) - before == {run_id}
    run = stack.api.wait_run(DAG_ID, run_id, timeout=120)
    assert run["conf"] == {"records": 2000, "format": "pdf"}
    states = {t["task_id"]: t["state"] for t in stack.api.task_instances(DAG_ID, run_id)}
    assert (run["state"], states) == ("success", {
        "prepare_data": "success", "choose_format": "success", "export_pdf": "success", "export_csv": "skipped",
    }), stack.api.task_log(DAG_ID, run_id, "export_pdf")[-3000:]

    meta = stack.api.xcom(DAG_ID, run_id, "export_pdf")
    pdf = Path(meta["path"])
    assert (meta["format"], meta["records"]) == ("pdf", 2000)
    assert pdf == stack.export_root / DAG_ID / run_id / "records.pdf"
    data = pdf.read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (meta["bytes"], meta["sha256"])

    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Demo records (2000)" in text  # the title template saw params.records
    assert f"Page 1 of {len(reader.pages)}" in text
    # Every data row starts a line with its id; wrapped cells (long notes, "line two") start with text.
    ids = [int(line.split()[0]) for line in text.splitlines() if line.split() and line.split()[0].isdigit()]
    with closing(sqlite3.connect(stack.demo_db)) as db:
        expected = [i for (i,) in db.execute("SELECT id FROM demo_records ORDER BY id LIMIT 2000")]
    assert expected == list(range(1, 2001))
    assert ids == expected


def test_trigger_form_refuses_negative_records(ui, airflow_stack, artifacts):
    stack = airflow_stack
    before = run_ids(stack)
    with ui.evidence_on_failure(artifacts / "ui-trigger-form-failure"):
        ui.open_dag(DAG_ID)
        form = ui.open_trigger_form(DAG_ID)

        # The Records field itself cannot hold -1: on leaving it, it clamps to the schema's minimum.
        records = form.type_into("Records", "-1", blur=False)
        assert form.value("Records") == "-1"
        records.send_keys("\t")
        ui.wait(lambda d: form.value("Records") == "1", "Records to be clamped to the minimum 1")
        assert records.get_attribute("aria-valuemin") == "1" and records.get_attribute("aria-valuemax") == "100000"

        # The Configuration JSON can: it fills the fields, and the trigger is refused by the Params' schema.
        form.set_conf_json('{"records": -1, "format": "pdf"}')
        assert form.conf_json_text() == '{\n  "records": -1,\n  "format": "pdf"\n}'  # parsed and prettified
        form.show_parameters()
        ui.wait(lambda d: (form.value("Records"), form.value("Format")) == ("-1", "pdf"), "the fields to show the JSON")
        form.submit()
        alert = " ".join(form.error_alert().text.split())
        expected = "400 Bad Request Invalid input for param records: -1 is less than the minimum of 1 "
        assert alert.startswith(expected), alert
        assert "Failed validating 'minimum' in schema" in alert, alert
        ui.toast("Failed to Trigger Dag")
        assert form.dialog.is_displayed() and "/runs/" not in ui.driver.current_url  # still on the form
        ui.snapshot(artifacts / "ui-trigger-form-invalid")

    assert run_ids(stack) == before  # no run was created


def test_export_files_tab_downloads_the_file_through_the_browser(ui, airflow_stack, artifacts, tmp_path):
    stack = airflow_stack
    downloads = tmp_path / "downloads"
    with ui.evidence_on_failure(artifacts / "ui-export-files-failure"):
        ui.open_dag(DAG_ID)
        form = ui.open_trigger_form(DAG_ID)
        form.type_into("Records", "300")
        assert form.value("Format") == "csv"
        form.submit()
        ui.toast("Dag Run Triggered")
        run_id = ui.run_id_from_url(DAG_ID)
        run = stack.api.wait_run(DAG_ID, run_id, timeout=180)
        assert run["state"] == "success", stack.api.task_log(DAG_ID, run_id, "export_csv")[-3000:]
        meta = stack.api.xcom(DAG_ID, run_id, "export_csv")

        ui.open_run_tab(DAG_ID, run_id, "Export files")
        ui.enter_iframe("Export files")
        ui.wait(lambda d: d.find_element(By.ID, "run-state").text == "success", "the run state in the tab")
        cells = [td.text for td in ui.driver.find_elements(By.CSS_SELECTOR, "#export-files tr:nth-child(2) td")]
        assert cells[:4] == ["export_csv", "records.csv", "300", f"{meta['bytes']:,}"]
        ui.driver.switch_to.default_content()
        ui.snapshot(artifacts / "ui-export-files")
        ui.enter_iframe("Export files")
        ui.allow_downloads(downloads)
        ui.driver.find_element(By.LINK_TEXT, "records.csv").click()
        ui.driver.switch_to.default_content()

    target = downloads / "records.csv"
    deadline = time.monotonic() + 60
    while not (target.exists() and not list(downloads.glob("*.crdownload"))):
        assert time.monotonic() < deadline, f"no download in {downloads}: {list(downloads.iterdir())}"
        time.sleep(0.2)
    data = target.read_bytes()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (meta["bytes"], meta["sha256"])
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    with closing(sqlite3.connect(stack.demo_db)) as db:
        expected = [str(i) for (i,) in db.execute("SELECT id FROM demo_records ORDER BY id LIMIT 300")]
    assert rows[0][:2] == ["id", "name"] and [r[0] for r in rows[1:]] == expected
