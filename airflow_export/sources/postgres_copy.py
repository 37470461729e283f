"""CSV from PostgreSQL through ``COPY (query) TO STDOUT``: the cursor path's bytes at the server's speed.

:func:`copy_source` decides, for one export, whether COPY can write exactly what the cursor path
(:func:`~airflow_export.sources.sql.sql_rows` -> :func:`~airflow_export.writers.csv.write_csv`)
writes: the options (:func:`~airflow_export.sources.copy_plan.options_reason`), the connection
(psycopg 3 or 2), the session settings and the result's column types (the query is described with
``LIMIT 0`` first). If it can, it yields a :class:`~airflow_export.sources.base.RowSource` whose
``direct`` writer streams the COPY into the writer frame (:class:`~airflow_export.writers.frame.FileSeries`:
atomic files, rolling, gzip, SHA-256); else, with ``engine="auto"``, it logs one line with the
reason and yields None (the caller takes the cursor path); with ``engine="copy"`` it raises
:class:`CopyNotPossible`.

Bytes: the server casts each column into our value form (:mod:`airflow_export.sources.copy_plan`);
the client writes the BOM and the header (the same function as the cursor path), and turns each
row's final LF into CRLF. libpq hands over COPY data one row at a time ("Data is always returned one
data row at a time", ``PQgetCopyData``), so the last byte of each block is the row's end and a line
break inside a quoted field is never touched; rows are counted as blocks and checked against the
server's ``COPY n``. Parameters are bound by psycopg's client-side binding (its SQL literal quoting;
COPY takes no server-side parameters), never by formatting text into the SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_export.sources.base import RowSource, SourceError
from airflow_export.sources.copy_plan import (
    CopyPlan,
    CopyUnsupported,
    build_statement,
    describe_statement,
    is_utc,
    options_reason,
    session_reason,
    type_names,
)
from airflow_export.sources.postgres import PSYCOPG2, driver_of
from airflow_export.sources.sql import _Redactor
from airflow_export.writers.csv import CsvFiles, csv_compression, csv_preamble
from airflow_export.writers.csv.options import CsvOptions
from airflow_export.writers.frame import ExportResult, FileSeries

#: ``engine`` values of :class:`~airflow_export.operators.export.ExportCsvOperator`.
ENGINES = ("auto", "copy", "cursor")
#: Rows (CopyData blocks) gathered before one write.
BATCH_ROWS = 4096
#: SQLSTATE of a syntax error.
_SYNTAX_ERROR = "42601"
#: Session settings the server's text depends on.
_SETTINGS = ("DateStyle", "TimeZone", "extra_float_digits", "client_encoding")


class CopyNotPossible(ValueError):
    """``engine="copy"`` was asked for, but COPY cannot write the cursor path's bytes here (the reason)."""


def _bind(conn: Any, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None) -> str:
    """``sql`` with ``parameters`` bound by psycopg's client-side binding (``ClientCursor.mogrify``:
    each value adapted and quoted as an SQL literal by the driver), or ``sql`` as is without parameters."""
    if parameters is None:
        return sql
    if driver_of(conn) == PSYCOPG2:  # psycopg 2 always binds this way (cursor.execute does the same)
        with conn.cursor() as cursor:
            bound = cursor.mogrify(sql, parameters)
        return bound.decode(_python_encoding(conn)) if isinstance(bound, bytes) else bound
    import psycopg

    cursor = psycopg.ClientCursor(conn)
    cursor.adapters.register_dumper(float, _float8_literal_dumper())  # this cursor's adapters only
    return cursor.mogrify(sql, parameters)


def _float8_literal_dumper() -> type:
    """psycopg 3's float dumper, but every literal typed ``'<repr>'::float8``.

    The cursor path binds a Python float on the server as a ``float8`` parameter; psycopg 3's client-side
    literal ``1e+16`` is read by PostgreSQL as ``numeric`` (``-0.0`` loses its sign, ``0.1 + 0.2`` adds
    exactly), which would change the column's type and value under COPY.
    """
    from psycopg.types.numeric import FloatDumper

    class Float8LiteralDumper(FloatDumper):
        def quote(self, obj: Any) -> bytes:
            return b"'" + repr(float(obj)).encode() + b"'::float8"

    return Float8LiteralDumper


def _python_encoding(conn: Any) -> str:
    import psycopg2.extensions

    return psycopg2.extensions.encodings.get(conn.encoding, "utf-8")


def _literal(conn: Any, text: str) -> str:
    if driver_of(conn) == PSYCOPG2:
        from psycopg2.extensions import QuotedString

        quoted = QuotedString(text)
        quoted.prepare(conn)
        return quoted.getquoted().decode(_python_encoding(conn))
    from psycopg import sql as pgsql

    return pgsql.Literal(text).as_string(conn)


def plan_copy(conn: Any, sql: str, parameters: Any, opts: CsvOptions) -> CopyPlan:
    """Describe the query on ``conn`` and build the COPY writing the cursor path's bytes.

    :raises CopyUnsupported: a session setting or a column type cannot be matched.
    :raises Exception: the driver's error when the query fails (the caller words it).
    """
    bound = _bind(conn, sql, parameters)
    with _tuple_cursor(conn) as cursor:
        cursor.execute(describe_statement(bound))
        description = cursor.description or []
    names = [d[0] for d in description]
    oids = sorted({int(d[1]) for d in description})
    with _tuple_cursor(conn) as cursor:
        # pg_type's own names (arrays: "_int4"), and the settings the server's text depends on. A
        # cursor's plan is never parallel; COPY's may be, and a Gather returns rows in another order on
        # every run: the cursor path's plan shape, the cursor path's order. JIT may compile the casts, but
        # not optimise or inline them: LLVM's optimiser took 0.6 s over flights' casts and saved nothing.
        cursor.execute("SELECT oid::int8, typname::text FROM pg_type WHERE oid::int8 = ANY(%s)", (oids,))
        typnames = dict(cursor.fetchall())
        cursor.execute("SELECT current_setting('DateStyle'), current_setting('TimeZone'), "
                       "current_setting('extra_float_digits'), current_setting('client_encoding'), "
                       "set_config('max_parallel_workers_per_gather', '0', false), "
                       "set_config('jit_optimize_above_cost', '-1', false), "
                       "set_config('jit_inline_above_cost', '-1', false)")
        values = [v.decode("ascii", "replace") if isinstance(v, bytes) else v for v in cursor.fetchone()]
        settings = dict(zip(_SETTINGS, values[:4], strict=True))
    types = type_names(description, typnames.get)
    # psycopg 2 reads timestamptz with the offset the server wrote; psycopg 3 in the session's zone.
    known = driver_of(conn) == PSYCOPG2 or _zone_known(settings["TimeZone"])
    reason = session_reason(settings, types, known_zone=known)
    if reason:
        raise CopyUnsupported(reason)
    statement = build_statement(bound, types, opts, lambda text: _literal(conn, text), is_utc(settings["TimeZone"]))
    return CopyPlan(statement, names, types)


def _tuple_cursor(conn: Any) -> Any:
    """A plain cursor returning tuples, whatever row factory the connection was given (Airflow's
    ``cursor`` extra: ``dictcursor``, ``namedtuplecursor`` ...)."""
    if driver_of(conn) == PSYCOPG2:
        import psycopg2.extensions

        return conn.cursor(cursor_factory=psycopg2.extensions.cursor)
    from psycopg.rows import tuple_row

    return conn.cursor(row_factory=tuple_row)


def _zone_known(name: str) -> bool:
    """Whether psycopg reads ``timestamptz`` in this zone (it falls back to UTC where zoneinfo fails)."""
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except Exception:
        return False
    return True


def _crlf(blocks: list[bytes]) -> bytes:
    """The rows of ``blocks`` (each ending in its one LF) joined, every row ending in CRLF instead."""
    data = b"".join(blocks)
    if data.count(b"\n") == len(blocks):  # no line break inside a field: one C-level replace
        return data.replace(b"\n", b"\r\n")
    return b"".join(block[:-1] + b"\r\n" for block in blocks)


def copy_csv(
    conn: Any,
    plan: CopyPlan,
    path: str,
    *,
    columns: Sequence[str] | None = None,
    confine_to: str | None = None,
    what: str = "COPY query",
    redact: Any = None,
    **options: Any,
) -> ExportResult:
    """Stream ``plan``'s COPY into CSV files at ``path`` through the writer frame.

    :param conn: the psycopg 3 or 2 connection ``plan`` was made on.
    :param columns: header names (default: the query's).
    :param confine_to: the export root (see :func:`~airflow_export.writers.csv.write_csv`).
    :param what: names the query in error messages.
    :param redact: removes the connection's password from error messages.
    :param options: :func:`~airflow_export.writers.csv.write_csv` options (the ones the plan was made for).
    :returns: the :class:`~airflow_export.writers.frame.ExportResult`, as ``write_csv`` gives it.
    :raises SourceError: the COPY failed, or its row count differs from the rows written.
    """
    opts = CsvOptions.from_kwargs(**options)
    names = list(columns) if columns is not None else plan.names
    files = CsvFiles(b"", csv_compression(path, opts))
    progress = opts.progress
    with FileSeries(path, "csv", files, overwrite=opts.overwrite, max_rows_per_file=opts.max_rows_per_file,
                    max_bytes_per_file=opts.max_bytes_per_file, confine_to=confine_to) as series:
        files.preamble = csv_preamble(names, opts)
        rolling = series.rolling

        def flush(blocks: list[bytes]) -> None:
            if rolling:
                series.write_blocks([block[:-1] + b"\r\n" for block in blocks])
            else:
                series.write(_crlf(blocks), len(blocks))
            if progress is not None:
                progress(series.written)

        cursor = conn.cursor()
        try:
            if driver_of(conn) == PSYCOPG2:
                sink = _RowSink(flush)
                try:
                    cursor.copy_expert(plan.statement, sink, size=1 << 16)
                except BaseException:
                    conn.cancel()  # psycopg 2 leaves the server sending: stop the COPY there
                    raise
                sink.close()
            else:
                with cursor.copy(plan.statement) as copy:  # on an exception, psycopg 3 cancels the COPY
                    blocks: list[bytes] = []
                    for block in copy:
                        blocks.append(bytes(block))
                        if len(blocks) >= BATCH_ROWS:
                            flush(blocks)
                            blocks = []
                    if blocks:
                        flush(blocks)
            server_rows = cursor.rowcount
        except Exception as exc:
            if not _is_driver_error(exc):  # the file side (OSError, OutputError ...) keeps its own error
                raise
            message = f"{what} failed: {type(exc).__name__}: {exc}"
            message = redact(message) if redact is not None else message
            raise SourceError(message) from None
        finally:
            cursor.close()
        if server_rows != series.written:
            raise SourceError(f"{what}: the server sent {server_rows} rows, {series.written} were written")
        return series.finish()


class _RowSink:
    """The file psycopg 2's ``copy_expert`` writes to: one ``write`` per row (``PQgetCopyData``), batched."""

    def __init__(self, flush: Any) -> None:
        self.flush = flush
        self.blocks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.blocks.append(data)
        if len(self.blocks) >= BATCH_ROWS:
            self.flush(self.blocks)
            self.blocks = []

    def close(self) -> None:
        if self.blocks:
            self.flush(self.blocks)
            self.blocks = []


def _is_syntax_error(exc: BaseException) -> bool:
    return _SYNTAX_ERROR in (getattr(exc, "sqlstate", None), getattr(exc, "pgcode", None))


def _is_driver_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("psycopg")


def _connect(hook: Any, what: str, redact: _Redactor) -> Any:
    try:
        return hook.get_conn()
    except Exception as exc:
        raise SourceError(redact(f"cannot connect for {what}: {type(exc).__name__}: {exc}")) from None


@contextmanager
def copy_source(
    hook: Any,
    sql: str,
    parameters: Sequence[Any] | Mapping[str, Any] | None,
    format_options: Mapping[str, Any],
    *,
    engine: str = "auto",
    conn_id: str | None = None,
    log: Any = None,
) -> Iterator[RowSource | None]:
    """A :class:`RowSource` whose ``direct`` writer runs the COPY, or None: take the cursor path.

    :param hook: the connection's DB-API hook.
    :param sql: one SELECT; ``parameters`` in psycopg's paramstyle (``%s``, ``%(name)s``).
    :param format_options: the export's :func:`~airflow_export.writers.csv.write_csv` options.
    :param engine: ``"auto"`` (COPY where exact, else None and one log line saying why) or ``"copy"``.
    :param log: a logger for the decision line (``info``).
    :raises CopyNotPossible: ``engine="copy"`` and COPY cannot write the same bytes here.
    :raises SourceError: the connection or the query failed (password redacted).
    """
    what = f"query on connection {conn_id!r}" if conn_id else "query"

    def cannot(reason: str) -> None:
        if engine == "copy":
            raise CopyNotPossible(
                f"engine='copy' cannot be honoured for {what}: {reason}; use engine='auto' or 'cursor'"
            )
        if log is not None:
            log.info("engine='auto': cursor path for %s, not COPY: %s", what, reason)

    opts = CsvOptions.from_kwargs(**format_options)
    conn_type = getattr(hook, "conn_type", None)
    reason = options_reason(opts)
    if reason is None and conn_type not in (None, "postgres"):
        reason = f"connection type {conn_type!r} is not PostgreSQL"
    if reason is not None:
        cannot(reason)
        yield None
        return
    redact = _Redactor(hook)
    conn = _connect(hook, what, redact)
    try:
        if driver_of(conn) is None:
            cannot(f"the connection's driver is {type(conn).__module__.split('.')[0]}, COPY needs psycopg 3 or 2")
            plan = None
        else:
            try:
                plan = plan_copy(conn, sql, parameters, opts)
            except CopyUnsupported as exc:
                cannot(str(exc))
                plan = None
            except Exception as exc:
                if not _is_syntax_error(exc):
                    message = redact(f"{what} failed: {type(exc).__name__}: {exc}")
                    raise SourceError(message) from (None if redact.chain_leaks(exc) else exc)
                # The query may run alone but not inside COPY's wrapper (a ';' before a comment at its
                # end, more than one statement): the cursor path runs it, or fails with its own error.
                cannot("the query cannot be wrapped in COPY (SELECT ...) (a syntax error there: a ';' "
                       "before a trailing comment, or more than one statement?)")
                plan = None
        if plan is None:
            conn.close()
            yield None
            return
        if log is not None:
            log.info("engine=%r: COPY for %s (%d columns)", engine, what, len(plan.names))

        def direct(path: str, *, columns: Sequence[str] | None = None, confine_to: str | None = None,
                   **options: Any) -> ExportResult:
            return copy_csv(conn, plan, path, columns=columns, confine_to=confine_to, what=f"COPY {what}",
                            redact=redact, **options)

        yield RowSource(columns=plan.names, rows=(), description=f"{what} (COPY)", direct=direct)
    finally:
        with contextlib.suppress(Exception):
            conn.close()
