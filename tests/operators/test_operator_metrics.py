"""The operators' metrics, through Airflow's real StatsD client into a real bridge, per outcome.

Airflow's ``stats`` module is initialised as the task runner does it, with ``[metrics]``
pointing at an in-process bridge on a free port; each case runs an export and compares the
scraped numbers. Failures are recorded with their reason and never leave the running-exports
gauge up.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.bridge import Bridge
from airflow_export.sources.base import SourceError
from airflow_export.validation import parse_exposition, sum_values

MAPPING = Path(__file__).resolve().parents[2] / "deploy" / "statsd" / "mapping.yml"


@pytest.fixture()
def bridge(monkeypatch):
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics import stats_utils

    with Bridge(statsd_port=0, metrics_port=0, mapping=MAPPING) as running:
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(running.statsd_port))
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PREFIX", "airflow")
        stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=True)
        yield running
        stats.initialize(factory=stats_utils.get_stats_factory(), export_legacy_names=True)


def scrape(bridge, name: str, settle: float = 0.3, **labels) -> float:
    time.sleep(settle)  # UDP on loopback: let the bridge's receive loop drain
    return sum_values(parse_exposition(bridge.exposition()), name, labels) or 0.0


@pytest.fixture()
def db_conn(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (i INTEGER, s TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"s{i}") for i in range(1234)])
    monkeypatch.setenv("AIRFLOW_CONN_METRICS_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))


def failing_rows(exc: BaseException, after: int = 1500):
    for i in range(after):
        yield [i, "x"]
    raise exc


def test_success_sends_every_metric(bridge, db_conn, tmp_path):
    meta = ExportCsvOperator(task_id="ok", conn_id="metrics_db", sql="SELECT * FROM t",
                             output_path=str(tmp_path / "ok.csv")).execute({})
    pdf = ExportPdfOperator(task_id="okp", rows=[[1, "a"]] * 60, columns=["i", "s"],
                            output_path=str(tmp_path / "ok.pdf")).execute({})
    assert scrape(bridge, "airflow_export_requests_total", format="csv", status="success") == 1
    assert scrape(bridge, "airflow_export_requests_total", format="pdf", status="success") == 1
    assert scrape(bridge, "airflow_export_requests_total", status="failed") == 0
    assert scrape(bridge, "airflow_export_records_total", format="csv") == 1234
    assert scrape(bridge, "airflow_export_records_total", format="pdf") == 60
    assert scrape(bridge, "airflow_export_bytes_total", format="csv") == meta["bytes"]
    assert scrape(bridge, "airflow_export_bytes_total", format="pdf") == pdf["bytes"]
    assert scrape(bridge, "airflow_export_duration_seconds_count", format="csv") == 1
    assert scrape(bridge, "airflow_export_memory_peak_bytes", format="csv") > 10 * 2**20
    assert scrape(bridge, "airflow_export_throughput_records_per_second", format="csv") > 0
    for reason in ("source_error", "write_error", "invalid_input", "timeout", "cancelled"):
        assert scrape(bridge, "airflow_export_failures_total", settle=0, reason=reason) == 0  # present, at 0
    assert scrape(bridge, "airflow_export_running") == 0
    assert scrape(bridge, "airflow_export_running_high_water") == 1


def _timeout():
    from airflow.sdk.exceptions import AirflowTaskTimeout

    return AirflowTaskTimeout("Timeout, PID: 1")


@pytest.mark.parametrize(
    "reason, error, make_op",
    [
        ("source_error", SourceError,
         lambda tmp: ExportCsvOperator(task_id="e", conn_id="metrics_db", sql="SELECT nope FROM t",
                                       output_path=str(tmp / "e.csv"))),
        ("invalid_input", TypeError,
         lambda tmp: ExportCsvOperator(task_id="e", rows=[[1, object()]], columns=["a", "b"],
                                       output_path=str(tmp / "e.csv"))),
        ("write_error", OSError,
         lambda tmp: ExportCsvOperator(task_id="e", rows=[[1]], columns=["a"],
                                       output_path=str(tmp / "a_file" / "e.csv"))),
        ("timeout", AirflowTaskTimeout,
         lambda tmp: ExportCsvOperator(task_id="e", rows=failing_rows(_timeout()), columns=["a", "b"],
                                       output_path=str(tmp / "e.csv"))),
        ("timeout", AirflowTaskTimeout,
         lambda tmp: ExportPdfOperator(task_id="e", rows=failing_rows(_timeout(), 120), columns=["a", "b"],
                                       output_path=str(tmp / "e.pdf"))),
    ],
)
def test_failures_are_counted_by_reason_and_leave_nothing(reason, error, make_op, bridge, db_conn, tmp_path):
    (tmp_path / "a_file").write_text("a file, not a folder")
    op = make_op(tmp_path)
    with pytest.raises(error):
        op.execute({})
    assert scrape(bridge, "airflow_export_failures_total", reason=reason) == 1
    assert scrape(bridge, "airflow_export_failures_total", settle=0) == 1  # no other reason
    assert scrape(bridge, "airflow_export_requests_total", settle=0, format=op.export_format, status="failed") == 1
    assert scrape(bridge, "airflow_export_duration_seconds_count", settle=0, format=op.export_format) == 1
    assert scrape(bridge, "airflow_export_running", settle=0) == 0  # the gauge does not drift
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "m.db"]  # no partial or temp file


def test_on_kill_cancels_the_export(bridge, tmp_path):
    out = tmp_path / "c.csv"

    def rows():
        for i in range(5000):
            if i == 2500:
                op.on_kill()  # what the task runner's SIGTERM handler calls
            yield [i]

    op = ExportCsvOperator(task_id="c", rows=rows(), columns=["i"], output_path=str(out))
    with pytest.raises(BaseException, match="cancelled"):
        op.execute({})
    assert scrape(bridge, "airflow_export_failures_total", reason="cancelled") == 1
    assert scrape(bridge, "airflow_export_running", settle=0) == 0
    assert list(tmp_path.iterdir()) == []
