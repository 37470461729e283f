"""A real Airflow for the end-to-end tests (:func:`tests.support.stack.e2e_stack`), started once per
test session and always stopped (process groups, SIGTERM, timeout, SIGKILL), even when a test fails."""

from __future__ import annotations

import contextlib

import pytest

from tests.support.postgres import PASSWORD, PostgresUnavailable, running_postgres
from tests.support.stack import e2e_stack

#: The password of the e2e PostgreSQL server: it must never appear in a task log or an XCom.
SECRET = PASSWORD


@pytest.fixture(scope="session")
def airflow_stack():
    with contextlib.ExitStack() as resources:
        try:
            pg = resources.enter_context(running_postgres())
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield resources.enter_context(e2e_stack(pg))
