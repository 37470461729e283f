"""A real Airflow for the end-to-end tests: api-server, scheduler and dag-processor (LocalExecutor),
sending its StatsD metrics to a real ``airflow-export-bridge``. Besides the repository's ``dags/``
it loads the test-only DAGs of ``tests/e2e/dags/`` (a second DAG bundle).

Started once per test session in a temporary Airflow home on free ports, and always stopped
(process groups, SIGTERM, timeout, SIGKILL), even when a test fails.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from stack import Stack, free_port, running_stack


@pytest.fixture(scope="session")
def airflow_stack():
    home = Path(tempfile.mkdtemp(prefix="airflow-export-e2e-"))
    stack = Stack(home, api_port=free_port(), bridge=True,
                  extra_dag_bundles={"e2e-test-dags": Path(__file__).parent / "dags"})
    try:
        with running_stack(stack) as started:
            yield started
    finally:
        shutil.rmtree(home, ignore_errors=True)
