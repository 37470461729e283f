"""A real Airflow for the end-to-end tests: api-server, scheduler and dag-processor (LocalExecutor),
sending its StatsD metrics to a real ``airflow-export-bridge``. Besides the repository's ``dags/``
it loads the test-only DAGs of ``tests/e2e/dags/`` (a second DAG bundle), and a throw-away
PostgreSQL server is reachable as connection ``e2e_pg`` (``e2e_pg_closed``: same password, closed port).

Started once per test session in a temporary Airflow home on free ports, and always stopped
(process groups, SIGTERM, timeout, SIGKILL), even when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from stack import Stack, free_port, running_stack
from tests.support.postgres import PASSWORD, PostgresUnavailable, running_postgres

#: The password of the e2e PostgreSQL server: it must never appear in a task log or an XCom.
SECRET = PASSWORD


@pytest.fixture(scope="session")
def airflow_stack():
    home = Path(tempfile.mkdtemp(prefix="airflow-export-e2e-"))
    with contextlib.ExitStack() as resources:
        try:
            pg = resources.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        connections = {
            # A real server that checks the password (scram-sha-256).
            "AIRFLOW_CONN_E2E_PG": pg.airflow_connection_json(),
            # The same credentials where nothing listens: the export fails while connecting.
            "AIRFLOW_CONN_E2E_PG_CLOSED": json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": free_port(),
                                                       "login": pg.user, "password": pg.password, "schema": pg.dbname}),
        }
        stack = Stack(home, api_port=free_port(), bridge=True, extra_env=connections,
                      extra_dag_bundles={"e2e-test-dags": Path(__file__).parent / "dags"})
        try:
            with running_stack(stack) as started:
                yield started
        finally:
            shutil.rmtree(home, ignore_errors=True)
