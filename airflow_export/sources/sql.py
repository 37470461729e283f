"""SQL source: stream a query's result through an Airflow DB-API hook, batch by batch.

The cursor is read with ``fetchmany(fetch_size)``, so at most one batch of rows is held.
Where the driver has server-side cursors (psycopg 2 and 3, for PostgreSQL), a named cursor
is used so the server, not the client, holds the result set: every batch is one
``FETCH FORWARD <fetch_size>`` round trip, never psycopg's one-row fetches
(apache/airflow#72075); see :mod:`airflow_export.sources.postgres`.

Error messages name the connection and keep the driver's message; the connection's
password is replaced by ``***`` should a driver ever repeat it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_export.sources.base import RowSource, SourceError, guarded
from airflow_export.sources.postgres import (
    PSYCOPG2,
    PSYCOPG3,
    driver_of,
    open_server_cursor,
    register_iso_datetime_loaders,
    register_server_text_loaders,
)

REDACTED = "***"


def _batches(cursor: Any, first: list, fetch_size: int, exact: bool) -> Iterator[list]:
    """The batches of ``cursor``; with ``exact`` (a server-side cursor, where ``FETCH FORWARD n``
    returns fewer than n rows only at the end) a short batch is known to be the last one."""
    batch = first
    while batch:
        yield batch
        if exact and len(batch) < fetch_size:
            return
        batch = cursor.fetchmany(fetch_size)


def _password_of(hook: Any) -> str | None:
    """The hook's connection password, if it exposes one (Airflow ``DbApiHook.connection``)."""
    try:
        password = hook.connection.password
    except Exception:
        return None
    return password if isinstance(password, str) and password else None


class _Redactor:
    """Replaces the connection's password in a message (looked up only when an error happens).

    Also the forms a driver may print it in: ``repr`` escaping (quotes, backslashes) and URL
    percent-encoding (a DSN or URI).
    """

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    def forms(self) -> list[str]:
        """The password's textual forms, longest first (empty when there is no password)."""
        password = _password_of(self.hook)
        if not password:
            return []
        from urllib.parse import quote, quote_plus

        forms = {password, repr(password)[1:-1], password.encode("unicode_escape").decode("ascii"),
                 quote(password, safe=""), quote_plus(password)}
        return sorted((f for f in forms if f), key=len, reverse=True)

    def __call__(self, message: str) -> str:
        for form in self.forms():
            message = message.replace(form, REDACTED)
        return message

    def chain_leaks(self, exc: BaseException) -> bool:
        """True when the exception or any exception it chains (cause or context) shows the password."""
        import traceback

        forms = self.forms()
        if not forms:
            return False
        text = "".join(traceback.format_exception(exc))
        return any(form in text for form in forms)


@contextmanager
def sql_rows(
    hook: Any,
    sql: str,
    parameters: Sequence[Any] | Mapping[str, Any] | None = None,
    *,
    fetch_size: int = 1000,
    conn_id: str | None = None,
    iso_datetime_text: bool = False,
) -> Iterator[RowSource]:
    """Run ``sql`` on ``hook``'s connection and yield a :class:`RowSource` streaming its rows.

    Parameters are bound by the driver (``cursor.execute(sql, parameters)``), never formatted
    into the SQL text. Date/time values Python cannot hold (``infinity``, BC dates, ...) are
    read as the server's text (:func:`~airflow_export.sources.postgres.register_server_text_loaders`).

    :param hook: an Airflow ``DbApiHook`` (anything with ``get_conn()`` returning a DB-API 2.0
        connection, PEP 249).
    :param sql: one SELECT statement.
    :param parameters: bound parameters in the driver's paramstyle.
    :param fetch_size: rows per ``fetchmany`` call (>= 1).
    :param conn_id: used in error messages only.
    :param iso_datetime_text: psycopg 3 only (ignored otherwise): load ``timestamptz``,
        ``timestamp`` and ``date`` values directly as their ISO 8601 text, the same text the
        writers make from the ``datetime`` (see
        :func:`airflow_export.sources.postgres.register_iso_datetime_loaders`); faster for CSV.
    :raises SourceError: the connection, the query or a fetch failed (the driver's message is
        kept, the connection's password never).
    :raises ValueError: ``fetch_size`` < 1.
    """
    if fetch_size < 1:
        raise ValueError(f"fetch_size must be >= 1, got {fetch_size}")
    what = f"query on connection {conn_id!r}" if conn_id else "query"
    redact = _Redactor(hook)
    try:
        conn = hook.get_conn()
    except Exception as exc:  # the driver's own exception types vary
        # "from None": a chained driver exception would print its own, unredacted text in tracebacks.
        raise SourceError(redact(f"cannot connect for {what}: {type(exc).__name__}: {exc}")) from None
    cursor = None
    try:
        driver = driver_of(conn)
        try:
            if driver == PSYCOPG2:
                register_server_text_loaders(conn)
            cursor = open_server_cursor(conn, fetch_size) if driver else conn.cursor()
            if driver == PSYCOPG3:
                register_server_text_loaders(cursor)
            if iso_datetime_text and driver == PSYCOPG3:
                register_iso_datetime_loaders(cursor)
            if parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            # psycopg 2 named cursors describe the result only after the first fetch.
            first = cursor.fetchmany(fetch_size)
        except Exception as exc:
            message = redact(f"{what} failed: {type(exc).__name__}: {exc}")
            if redact.chain_leaks(exc):  # the driver (or an exception it chains) shows the password
                raise SourceError(message) from None
            raise SourceError(message) from exc
        if cursor.description is None:
            raise SourceError(f"{what} returned no result set (is it a SELECT?)")
        columns = [d[0] for d in cursor.description]
        batches = _batches(cursor, first, fetch_size, exact=driver is not None)
        rows = itertools.chain.from_iterable(guarded(batches, what, redact=redact))
        yield RowSource(columns=columns, rows=rows, description=what)
    finally:
        for closer in (cursor, conn):
            try:
                if closer is not None:
                    closer.close()
            except Exception:
                pass
