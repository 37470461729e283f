"""deploy/grafana/export-dashboard.json: one panel per contract metric, only contract names,
PromQL that promtool parses and that returns data on series shaped like the bridge's.

``metric_names_in_dashboard`` (airflow_export.validation.dashboard) is the helper to check
the same names against a live scrape of the bridge.
"""

from __future__ import annotations

import json

import pytest
import yaml

from airflow_export.validation.contract import CONTRACT_METRICS, allowed_series_names, family_of
from airflow_export.validation.dashboard import (
    metric_names_in_dashboard,
    panel_expressions,
    promql_metric_names,
    variable_metric_names,
)
from tests.deploy.conftest import GRAFANA_DIR, require_promtool, run_promtool

DASHBOARD_PATH = GRAFANA_DIR / "export-dashboard.json"
DASHBOARD = json.loads(DASHBOARD_PATH.read_text())
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# What Grafana substitutes, for promtool (which knows no Grafana variable).
GRAFANA_VALUES = {"$__rate_interval": "5m", "$format": ".*", "$pool": "export_pool"}


@pytest.mark.parametrize(("expr", "expected"), [
    ("airflow_export_running", {"airflow_export_running"}),
    ("sum by (status) (rate(airflow_export_requests_total{format=~\"$format\"}[$__rate_interval]))",
     {"airflow_export_requests_total"}),
    ("histogram_quantile(0.95, sum by (le) (rate(airflow_export_duration_seconds_bucket[5m])))",
     {"airflow_export_duration_seconds_bucket"}),
    ("sum(rate(a_sum[5m])) by (le) / sum(rate(a_count[5m])) by (le)", {"a_sum", "a_count"}),
    ("a / on(job) group_left(instance) b", {"a", "b"}),
    ("a * ignoring(pool) group_right b", {"a", "b"}),
    ("sum without (instance) (x)", {"x"}),
    ("rate (foo[1h:5m]) > 1e3 and bar unless baz", {"foo", "bar", "baz"}),
    ("foo offset 5m > bool 0x1F", {"foo"}),
    ("foo @ start() < Inf or NaN", {"foo"}),
    ("max_over_time(q{pool=\"by (x)\"}[5m]) or vector(0)", {"q"}),
    ("{__name__=\"x_y\", job=\"a\"}", {"x_y"}),
    ("a:recorded:rate5m", {"a:recorded:rate5m"}),
    ("# a comment with words\nup", {"up"}),
    ("label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")", {"up"}),
    ("${DS_PROMETHEUS}", set()),
    ("vector(1)", set()),
])
def test_promql_metric_names(expr, expected):
    assert promql_metric_names(expr) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("label_values(airflow_export_requests_total, format)", {"airflow_export_requests_total"}),
    ("label_values(airflow_pool_scheduled_slots{pool=~\"a,b\"}, pool)", {"airflow_pool_scheduled_slots"}),
    ("label_values(format)", set()),
    ("metrics(airflow_export_.*)", set()),
    ("query_result(max(airflow_export_running))", {"airflow_export_running"}),
])
def test_variable_metric_names(query, expected):
    assert variable_metric_names(query) == expected


def test_dashboard_basics():
    assert DASHBOARD["schemaVersion"] == 39
    assert DASHBOARD["uid"] == "airflow-export"
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert variables["pool"]["current"]["value"] == "export_pool"
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids)) == 9


def test_every_panel_and_target_uses_the_datasource_variable():
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_panels_do_not_overlap_and_fit_the_grid():
    cells: dict[tuple[int, int], str] = {}
    for panel in DASHBOARD["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_only_contract_names():
    names = metric_names_in_dashboard(DASHBOARD_PATH)
    assert names <= allowed_series_names(), names - allowed_series_names()
    assert names == {
        "airflow_export_requests_total",
        "airflow_export_duration_seconds_bucket",
        "airflow_export_duration_seconds_sum",
        "airflow_export_duration_seconds_count",
        "airflow_export_records_total",
        "airflow_export_bytes_total",
        "airflow_export_failures_total",
        "airflow_export_running",
        "airflow_export_running_high_water",
        "airflow_pool_scheduled_slots",
        "airflow_pool_scheduled_slots_high_water",
        "airflow_export_memory_peak_bytes",
        "airflow_export_throughput_records_per_second",
    }


def test_one_panel_per_contract_metric():
    families_by_panel: dict[str, set[str]] = {}
    for title, expr in panel_expressions(DASHBOARD):
        for name in promql_metric_names(expr):
            spec = family_of(name)
            assert spec is not None, f"{title}: {name} is not in the metric contract"
            families_by_panel.setdefault(title, set()).add(spec.name)
    assert all(len(families) == 1 for families in families_by_panel.values()), families_by_panel
    panel_of = {next(iter(f)): title for title, f in families_by_panel.items()}
    assert set(panel_of) == {spec.name for spec in CONTRACT_METRICS}
    assert panel_of["airflow_export_duration_seconds"] == "Export duration P50 / P95"
    assert panel_of["airflow_pool_scheduled_slots"] == "Export pool queue depth"


def _substituted(expr: str) -> str:
    for variable, value in GRAFANA_VALUES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, expr
    return expr


def _healthy_series() -> list[dict[str, str]]:
    """Input series for promtool shaped like the bridge's, one sample a minute for 30 min."""
    series = [
        ('airflow_export_requests_total{format="csv",status="success"}', "0+19x30"),
        ('airflow_export_requests_total{format="pdf",status="failed"}', "0+1x30"),
        ('airflow_export_records_total{format="csv"}', "0+1000x30"),
        ('airflow_export_bytes_total{format="csv"}', "0+65536x30"),
        ('airflow_export_failures_total{reason="write_error"}', "0+1x30"),
        ("airflow_export_running", "2x30"),
        ("airflow_export_running_high_water", "4x30"),
        ('airflow_pool_scheduled_slots{pool="export_pool"}', "3x30"),
        ('airflow_pool_scheduled_slots_high_water{pool="export_pool"}', "15x30"),
        ('airflow_export_memory_peak_bytes{format="csv"}', "52428800x30"),
        ('airflow_export_throughput_records_per_second{format="csv"}', "182000x30"),
        ('airflow_export_duration_seconds_sum{format="csv"}', "0+9x30"),
        ('airflow_export_duration_seconds_count{format="csv"}', "0+20x30"),
    ]
    for le, step in [("0.5", 6), ("1.0", 12), ("2.5", 18), ("5.0", 20), ("+Inf", 20)]:
        series.append((f'airflow_export_duration_seconds_bucket{{format="csv",le="{le}"}}', f"0+{step}x30"))
    return [{"series": name, "values": values} for name, values in series]


def test_every_query_parses_with_promtool(tmp_path):
    promtool = require_promtool()
    rules = [{"record": f"dashboard:query_{i}", "expr": _substituted(expr)}
             for i, (_title, expr) in enumerate(panel_expressions(DASHBOARD))]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = run_promtool(promtool, "check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_every_query_returns_data_on_bridge_shaped_series(tmp_path):
    promtool = require_promtool()
    checks = [
        {"expr": f"count({_substituted(expr)}) > bool 0", "eval_time": "20m",
         "exp_samples": [{"labels": "{}", "value": 1}]}
        for _title, expr in panel_expressions(DASHBOARD)
    ]
    (tmp_path / "rules.yml").write_text("groups: []\n")
    (tmp_path / "dashboard.test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": _healthy_series(), "promql_expr_test": checks}],
    }))
    done = run_promtool(promtool, "test", "rules", "dashboard.test.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
