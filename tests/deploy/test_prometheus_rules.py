"""deploy/prometheus/alerts.yml: valid for promtool, and its unit tests pass.

The unit tests (alerts.test.yml) are checked to cover every alert both ways: at least one
case where it fires with exact labels/annotations and one where it stays quiet.
"""

from __future__ import annotations

import yaml

from tests.deploy.conftest import PROMETHEUS_DIR, require_promtool, run_promtool

ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERT_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
EXPECTED_ALERTS = {
    "AirflowExportLatencyP95High",
    "AirflowExportSuccessRateLow",
    "AirflowExportPoolSaturated",
    "AirflowExportNoExports",
    "AirflowExportRequestsRejected",
}


def test_check_rules():
    promtool = require_promtool()
    done = run_promtool(promtool, "check", "rules", str(ALERTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


def test_unit_tests_pass():
    promtool = require_promtool()
    done = run_promtool(promtool, "test", "rules", ALERT_TESTS.name, cwd=PROMETHEUS_DIR)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_alert_names_and_thresholds():
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    by_name = {rule["alert"]: rule for rule in rules}
    assert set(by_name) == EXPECTED_ALERTS
    assert "histogram_quantile(0.95" in by_name["AirflowExportLatencyP95High"]["expr"]
    assert "airflow_export_duration_seconds_bucket" in by_name["AirflowExportLatencyP95High"]["expr"]
    assert by_name["AirflowExportLatencyP95High"]["expr"].rstrip().endswith("> 10")
    assert by_name["AirflowExportSuccessRateLow"]["expr"].rstrip().endswith("< 0.95")
    assert by_name["AirflowExportPoolSaturated"]["expr"] == (
        'airflow_pool_scheduled_slots{pool="export_pool"} > 100'
    )
    assert "[6h]" in by_name["AirflowExportNoExports"]["expr"]
    assert 'status="rejected"' in by_name["AirflowExportRequestsRejected"]["expr"]
    assert 'status!="rejected"' in by_name["AirflowExportSuccessRateLow"]["expr"]
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_every_alert_is_tested_firing_and_quiet():
    tests = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fires == EXPECTED_ALERTS
    assert quiet == EXPECTED_ALERTS
