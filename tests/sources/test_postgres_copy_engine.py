"""``ExportCsvOperator(engine=...)`` on PostgreSQL: COPY by default, the cursor path where COPY cannot be
exact (one log line saying why), ``engine="copy"`` failing clearly, bound parameters safe from
injection, cancellation on the server, metrics/progress/sha256/lineage from the COPY path, no partial file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time

import psycopg
import psycopg2
import pytest

from airflow_export import ExportCsvOperator
from airflow_export.operators.base import ExportCancelled
from airflow_export.sources.base import SourceError
from airflow_export.sources.postgres_copy import CopyNotPossible, copy_source
from tests.sources.conftest import CONN_ID
from tests.support.postgres import FLIGHTS_ROWS, PASSWORD

#: The server's log line for a cancel request (a closed connection logs something else).
CANCELED = "canceling statement due to user request"
COPY_LINE = f"COPY for query on connection '{CONN_ID}'"
CURSOR_LINE = f"engine='auto': cursor path for query on connection '{CONN_ID}', not COPY: "


class Hook:
    """A hook on the test server (psycopg 3 or 2), with server ``options``."""

    def __init__(self, dsn: str, options: str = "", driver: str = "psycopg", conn_type: str | None = "postgres"):
        self.dsn, self.options, self.driver, self.conn_type = dsn, options, driver, conn_type

    def get_conn(self):
        connect = psycopg.connect if self.driver == "psycopg" else psycopg2.connect
        return connect(self.dsn, options=self.options) if self.options else connect(self.dsn)


@pytest.fixture(autouse=True)
def stdlib_task_log(monkeypatch):
    """The operator's log through a stdlib logger, so that caplog sees its lines."""
    monkeypatch.setattr(ExportCsvOperator, "log", property(lambda self: logging.getLogger("test.export")))


def export(tmp_path, name, engine, caplog=None, **kwargs):
    out = tmp_path / engine / name
    op = ExportCsvOperator(task_id=f"t_{engine}", conn_id=CONN_ID, output_path=str(out), engine=engine, **kwargs)
    meta = op.execute({})
    return op, meta, out.read_bytes()


def test_auto_is_copy_and_writes_the_cursor_paths_bytes(postgres, tmp_path, caplog, monkeypatch):
    sent = []
    monkeypatch.setattr("airflow_export.metrics.export_succeeded", lambda *args: sent.append(args))
    caplog.set_level(logging.INFO)
    sql = "SELECT * FROM flights WHERE month = 1 OR carrier LIKE '=%'"
    op, meta, copied = export(tmp_path, "f.csv", "auto", sql=sql, progress_every_rows=10_000)
    assert COPY_LINE in caplog.text and "not COPY" not in caplog.text
    # progress lines come from the COPY stream as it is written
    assert caplog.text.count(f"export {tmp_path / 'auto' / 'f.csv'}:") >= 2
    _, cursor_meta, cursor = export(tmp_path, "f.csv", "cursor", sql=sql)
    assert copied == cursor
    records = copied.count(b"\r\n") - 1
    assert meta["records"] == records == cursor_meta["records"] == 27_004
    assert meta["bytes"] == len(copied) and meta["sha256"] == hashlib.sha256(copied).hexdigest()
    assert sent[0][:3] == ("csv", records, len(copied))  # the metrics: exact records and bytes
    facets = op.get_openlineage_facets_on_complete(None)  # lineage: the table in, the file out with its counts
    assert [d.name.rsplit(".", 1)[-1] for d in facets.inputs] == ["flights"], facets.inputs
    [output] = facets.outputs
    stats = output.outputFacets["outputStatistics"]
    assert (output.name, stats.rowCount, stats.size) == (str(tmp_path / "auto" / "f.csv"), records, len(copied))


@pytest.mark.parametrize(
    ("options", "sql", "reason"),
    [
        ({"lineterminator": "\n"}, None, "lineterminator '\\n'"),
        ({"encoding": "latin-1"}, None, "encoding 'latin-1'"),
        ({"quoting": "none", "null_marker": "\\N"}, None, "quoting='none'"),
        ({"empty_string": "empty"}, None, "empty_string='empty'"),
        ({"null_marker": "\\N"}, None, "null_marker '\\\\N' with quoting='minimal'"),
        ({"quoting": "nonnumeric", "null_marker": "0"}, None, "null_marker '0' looks like a number"),
        ({}, "SELECT flight, jsonb_build_object('a', 1.50) AS j FROM flights LIMIT 50", "type jsonb"),
        ({}, "SELECT flight, make_interval(days => day) AS i FROM flights LIMIT 50", "type interval"),
        ({}, "SELECT tailnum FROM flights LIMIT 50", "a single text column"),
    ],
    ids=["lineterminator", "encoding", "quoting-none", "empty-string", "null-marker", "number-marker", "jsonb",
         "interval", "single-text"],
)
def test_what_copy_cannot_match_takes_the_cursor_path_or_fails_with_copy(postgres, tmp_path, caplog, options, sql,
                                                                         reason):
    sql = sql or "SELECT * FROM flights LIMIT 500"
    caplog.set_level(logging.INFO)
    _, meta, auto = export(tmp_path, "a.csv", "auto", sql=sql, format_options=options)
    lines = [r.getMessage() for r in caplog.records if "not COPY" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith(CURSOR_LINE) and reason in lines[0], lines
    assert COPY_LINE not in caplog.text
    _, _, cursor = export(tmp_path, "a.csv", "cursor", sql=sql, format_options=options)
    assert auto == cursor and meta["records"] == 500 if "LIMIT 500" in sql else meta["records"] == 50
    op = ExportCsvOperator(task_id="c", conn_id=CONN_ID, sql=sql, output_path=str(tmp_path / "c.csv"),
                           engine="copy", format_options=options)
    with pytest.raises(CopyNotPossible, match="engine='copy' cannot be honoured") as caught:
        op.execute({})
    assert reason in str(caught.value)
    assert not (tmp_path / "c.csv").exists()


@pytest.mark.parametrize(
    ("hook_args", "reason"),
    [
        ({"options": "-c DateStyle=SQL,DMY"}, "DateStyle 'SQL, DMY'"),
        ({"options": "-c extra_float_digits=0"}, "extra_float_digits 0"),
        ({"conn_type": "sqlite"}, "connection type 'sqlite' is not PostgreSQL"),
    ],
    ids=["datestyle", "float-digits", "not-postgres"],
)
def test_session_and_driver_reasons(postgres, caplog, hook_args, reason):
    caplog.set_level(logging.INFO)
    log = logging.getLogger("test.copy")
    hook = Hook(postgres.dsn, **hook_args)
    with copy_source(hook, "SELECT * FROM flights", None, {}, log=log) as source:
        assert source is None
    assert reason in caplog.text
    with pytest.raises(CopyNotPossible, match=reason.replace("(", r"\(")), \
            copy_source(hook, "SELECT * FROM flights", None, {}, engine="copy"):
        pass


def test_engine_is_checked_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match="engine must be one of"):
        ExportCsvOperator(task_id="x", conn_id=CONN_ID, sql="SELECT 1", output_path="x.csv", engine="fast")
    with pytest.raises(ValueError, match="engine='copy' needs sql"):
        ExportCsvOperator(task_id="x", rows=[[1]], columns=["a"], output_path="x.csv", engine="copy")


EVIL = [
    "x'); DROP TABLE victim; --",
    "'' OR 1=1 --",
    "\\'; DROP TABLE victim; --",
    "$$; DROP TABLE victim; $$",
    "%s %(x)s {}",
]


@pytest.mark.parametrize("style", ["positional", "named"])
def test_bound_parameters_cannot_inject_sql(postgres, tmp_path, caplog, style):
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS victim, evil; CREATE TABLE victim (x int); INSERT INTO victim VALUES (1);"
                     "CREATE TABLE evil (id int, t text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO evil VALUES (%s, %s)", [(i, v) for i, v in enumerate(EVIL)] + [(99, "other")])
    caplog.set_level(logging.INFO)
    for i, value in enumerate(EVIL):
        if style == "positional":
            sql, params = "SELECT id, t FROM evil WHERE t = %s AND id >= %s ORDER BY id", [value, 0]
        else:
            sql, params = "SELECT id, t FROM evil WHERE t = %(v)s ORDER BY id", {"v": value}
        _, meta, copied = export(tmp_path, f"e{i}.csv", "auto", sql=sql, parameters=params)
        _, _, cursor = export(tmp_path, f"e{i}.csv", "cursor", sql=sql, parameters=params)
        assert copied == cursor
        # exactly the one row whose text is the value: compared as data, never run as SQL
        guarded = "'" + value if value[0] in "=+-@" else value
        quoted = '"' + guarded.replace('"', '""') + '"' if any(c in guarded for c in ',"\r\n') else guarded
        assert copied == f"id,t\r\n{i},{quoted}\r\n".encode(), copied
        assert meta["records"] == 1
    assert caplog.text.count(COPY_LINE) == len(EVIL)
    with psycopg.connect(postgres.dsn) as conn:
        assert conn.execute("SELECT x FROM victim").fetchall() == [(1,)]
        assert conn.execute("SELECT count(*) FROM evil").fetchone() == (len(EVIL) + 1,)


def test_a_copy_failing_midway_leaves_no_file_and_names_the_connection(postgres, tmp_path, caplog):
    out = tmp_path / "broken.csv"
    out.write_text("earlier run\n")
    sql = "SELECT g, 1 / (g - 150000) AS boom FROM generate_series(1, 200000) g"
    op = ExportCsvOperator(task_id="b", conn_id=CONN_ID, sql=sql, output_path=str(out), engine="copy")
    with pytest.raises(SourceError) as caught:
        op.execute({})
    message = str(caught.value)
    assert message.startswith(f"COPY query on connection '{CONN_ID}' failed: DivisionByZero: division by zero"), \
        message
    assert PASSWORD not in message
    assert out.read_text() == "earlier run\n" and sorted(os.listdir(tmp_path)) == ["broken.csv"]


def test_on_kill_cancels_the_copy_on_the_server(postgres, tmp_path):
    out = tmp_path / "slow.csv"
    marker = "airflow_export_kill_test"
    # ~30 minutes of rows: the export only ends early if the COPY is cancelled
    sql = f"SELECT g, length(pg_sleep(0.002)::text) AS {marker} FROM generate_series(1, 1000000) g"
    op = ExportCsvOperator(task_id="k", conn_id=CONN_ID, sql=sql, output_path=str(out), engine="copy")
    cancels = postgres.log_text().count(CANCELED)
    previous = signal.signal(signal.SIGUSR1, lambda *_: op.on_kill())  # as Airflow's SIGTERM handler does
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGUSR1))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(ExportCancelled):
            op.execute({})
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert time.monotonic() - started < 30
    assert not out.exists() and os.listdir(tmp_path) == []
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 10
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
                           [f"COPY%{marker}%"]).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
                            [f"COPY%{marker}%"]).fetchone()[0] == 0
    assert postgres.log_text().count(CANCELED) == cancels + 1  # cancelled, not merely disconnected


_RSS_SCRIPT = """
import json, logging, sys
from airflow_export.sources.postgres_copy import copy_source
import psycopg

class Hook:
    conn_type = "postgres"
    def get_conn(self):
        return psycopg.connect(sys.argv[1])

with copy_source(Hook(), sys.argv[2], None, {}, engine="copy") as source:
    result = source.direct(sys.argv[3], columns=source.columns)
with open("/proc/self/status") as status:
    hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"records": result.records, "peak_rss_kib": hwm_kib}))
"""


def test_copy_peak_memory_is_flat_for_ten_times_the_rows(postgres, tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    queries = {"all": "SELECT * FROM flights", "tenth": "SELECT * FROM flights LIMIT 33678"}
    measured = {}
    for name, sql in queries.items():
        proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, postgres.dsn, sql, str(tmp_path / f"{name}.csv")],
                              capture_output=True, text=True, cwd=repo, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(repo)})
        assert proc.returncode == 0, proc.stderr[-3000:]
        measured[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert measured["all"]["records"] == FLIGHTS_ROWS and measured["tenth"]["records"] == 33_678
    growth_mib = (measured["all"]["peak_rss_kib"] - measured["tenth"]["peak_rss_kib"]) / 1024
    assert growth_mib < 5, measured
    assert measured["all"]["peak_rss_kib"] / 1024 < 60, measured


def test_a_psycopg2_copy_interrupted_is_cancelled_on_the_server(postgres, tmp_path):
    class Interrupted(BaseException):
        pass

    def interrupt(*_):
        raise Interrupted

    marker = "airflow_export_kill_test_2"
    sql = f"SELECT g, length(pg_sleep(0.002)::text) AS {marker} FROM generate_series(1, 1000000) g"
    cancels = postgres.log_text().count(CANCELED)
    previous = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGUSR1))
    started = time.monotonic()
    try:
        with copy_source(Hook(postgres.dsn, driver="psycopg2"), sql, None, {}, engine="copy") as source:
            timer.start()
            with pytest.raises(Interrupted):
                source.direct(str(tmp_path / "slow.csv"), columns=source.columns)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert time.monotonic() - started < 30 and os.listdir(tmp_path) == []
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        count = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()"
        deadline = time.monotonic() + 10
        while conn.execute(count, [f"COPY%{marker}%"]).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert conn.execute(count, [f"COPY%{marker}%"]).fetchone()[0] == 0
    assert postgres.log_text().count(CANCELED) == cancels + 1  # cancelled, not merely disconnected


def test_on_empty_with_copy(postgres, tmp_path, caplog):
    """COPY writes while the server sends, so it cannot honour on_empty='skip'/'fail': 'auto' takes
    the cursor path for them (which sees the empty result first), 'copy' is refused at parse time,
    and with on_empty='write' a COPY source is never taken for empty (its rows are all written)."""
    from airflow.sdk.exceptions import AirflowSkipException

    empty = "SELECT 1 AS a WHERE false"
    out = tmp_path / "skip.csv"
    caplog.set_level(logging.INFO)
    with pytest.raises(AirflowSkipException):
        ExportCsvOperator(task_id="s", conn_id=CONN_ID, sql=empty, output_path=str(out), on_empty="skip").execute({})
    assert not out.exists()
    assert "cursor path, not COPY: on_empty='skip' needs to see the first row" in caplog.text
    with pytest.raises(ValueError, match=r"engine='copy' streams rows .* on_empty='fail'"):
        ExportCsvOperator(task_id="f", conn_id=CONN_ID, sql=empty, output_path="f.csv", engine="copy", on_empty="fail")
    meta = ExportCsvOperator(task_id="w", conn_id=CONN_ID, sql="SELECT g AS n FROM generate_series(1, 3) g",
                             output_path=str(tmp_path / "w.csv")).execute({})
    assert meta["records"] == 3
    assert (tmp_path / "w.csv").read_bytes() == b"n\r\n1\r\n2\r\n3\r\n"
