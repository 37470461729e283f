"""SQL source: stream a query's result through an Airflow DB-API hook, batch by batch.

The cursor is read with ``fetchmany(fetch_size)``, so at most one batch of rows is held.
Where the driver has server-side cursors (psycopg 2 and 3, for PostgreSQL), a named cursor
is used so the server, not the client, holds the result set; ``itersize`` is raised to
``fetch_size`` to avoid psycopg's one-row round trips (apache/airflow#72075).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_export.sources.base import RowSource, SourceError, guarded


def _is_psycopg(conn: Any) -> bool:
    module = type(conn).__module__
    return module.startswith("psycopg2") or module.startswith("psycopg.")


def _open_cursor(conn: Any, fetch_size: int) -> Any:
    if _is_psycopg(conn):
        cursor = conn.cursor(name=f"airflow_export_{secrets.token_hex(6)}")
        cursor.itersize = fetch_size
        return cursor
    return conn.cursor()


def _batches(cursor: Any, first: list, fetch_size: int) -> Iterator[list]:
    if first:
        yield first
    while batch := cursor.fetchmany(fetch_size):
        yield batch


@contextmanager
def sql_rows(
    hook: Any,
    sql: str,
    parameters: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    fetch_size: int = 1000,
    conn_id: str | None = None,
) -> Iterator[RowSource]:
    """Run ``sql`` on ``hook``'s connection and yield a :class:`RowSource` streaming its rows.

    Parameters are bound by the driver (``cursor.execute(sql, parameters)``), never formatted
    into the SQL text.

    :param hook: an Airflow ``DbApiHook`` (anything with ``get_conn()`` returning a DB-API 2.0
        connection, PEP 249).
    :param sql: one SELECT statement.
    :param parameters: bound parameters in the driver's paramstyle.
    :param fetch_size: rows per ``fetchmany`` call (>= 1).
    :param conn_id: used in error messages only.
    :raises SourceError: the connection, the query or a fetch failed (the driver's message is kept).
    :raises ValueError: ``fetch_size`` < 1.
    """
    if fetch_size < 1:
        raise ValueError(f"fetch_size must be >= 1, got {fetch_size}")
    what = f"query on connection {conn_id!r}" if conn_id else "query"
    try:
        conn = hook.get_conn()
    except Exception as exc:  # the driver's own exception types vary
        raise SourceError(f"cannot connect for {what}: {type(exc).__name__}: {exc}") from exc
    cursor = None
    try:
        try:
            cursor = _open_cursor(conn, fetch_size)
            if parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            # Named (server-side) cursors describe the result only after the first fetch.
            first = cursor.fetchmany(fetch_size)
        except Exception as exc:
            raise SourceError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
        if cursor.description is None:
            raise SourceError(f"{what} returned no result set (is it a SELECT?)")
        columns = [d[0] for d in cursor.description]
        rows = itertools.chain.from_iterable(guarded(_batches(cursor, first, fetch_size), what))
        yield RowSource(columns=columns, rows=rows, description=what)
    finally:
        for closer in (cursor, conn):
            try:
                if closer is not None:
                    closer.close()
            except Exception:
                pass
