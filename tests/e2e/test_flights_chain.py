"""flights_export on real data, and the Asset chain to flights_delays_consumer, in a real Airflow."""

from __future__ import annotations

import csv
import urllib.parse

import pytest

from tests.support.batch import delays_consumer_report
from tests.support.stack import run_and_collect

pytestmark = pytest.mark.e2e


def test_flights_export_and_asset_chain(airflow_stack):
    stack = airflow_stack
    stack.api.wait_dag("flights_delays_consumer")
    run, exports = run_and_collect(stack, "flights_export")
    by_task = dict(exports)

    full = by_task["export_flights_full_csv"]
    assert full["records"] == 336_776
    with open(full["path"], newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert len(header) == 19 and header[:3] == ["year", "month", "day"]
        assert sum(1 for _ in reader) == 336_776

    delays = by_task["export_delays_csv"]
    assert delays["path"].endswith("flights_export/latest/delays_by_carrier_month.csv")
    assert 150 <= delays["records"] <= 16 * 12  # carriers x months present in 2013

    # The export's Asset event carries the metadata ...
    uri = f"file://{delays['path']}"
    asset = next(a for a in stack.api.request("GET", "/assets?limit=100")["assets"] if a["uri"] == uri)
    source_run = urllib.parse.quote(run["dag_run_id"])
    events = stack.api.request("GET", f"/assets/events?asset_id={asset['id']}&source_run_id={source_run}")
    [event] = events["asset_events"]
    assert {k: event["extra"][k] for k in ("records", "bytes", "sha256", "path")} == {
        k: delays[k] for k in ("records", "bytes", "sha256", "path")
    }

    # ... and the downstream DAG scheduled on that Asset ran after it and verified the file.
    report = delays_consumer_report(stack)
    assert report["sha256"] == delays["sha256"] and report["records"] == delays["records"]
    assert len(report["best"]) == 3
