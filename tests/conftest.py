"""Shared test set-up.

Airflow reads its configuration when first imported, so the test Airflow home is chosen here,
before any test module imports Airflow: a fresh temporary home per test session, never the
developer's ``airflow-home``. Tests that need the metadata database (``dag.test()``) use the
``airflow_db`` fixture, which migrates it once.

Tests that need the Debian packages of the full set-up (``scripts/setup.sh full``: a PostgreSQL server,
Chromium) are marked ``services``: those using a fixture of :data:`SERVICE_FIXTURES` here, the others
in their module. ``make test-fast`` deselects them; ``make test`` runs them and they fail, never skip,
when a package is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"

_HOME = Path(tempfile.mkdtemp(prefix="airflow-export-test-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ.pop("AIRFLOW_EXPORT_ROOT", None)
os.environ.pop("AIRFLOW__EXPORT__ROOT", None)
os.environ.pop("AIRFLOW_EXPORT_ROOT_CONN_ID", None)
os.environ.pop("AIRFLOW__EXPORT__ROOT_CONN_ID", None)
for name in [k for k in os.environ if k.startswith("AIRFLOW__METRICS__")]:
    del os.environ[name]
sys.path.insert(0, str(REPO / "dags"))

#: Fixtures that start a service of the full set-up -> what they need.
SERVICE_FIXTURES = {
    "postgres": "a PostgreSQL server (tests/sources)",
    "airflow_stack": "a PostgreSQL server for the e2e connections",
    "browser_ready": "Chromium and chromedriver",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``services`` every test that uses a fixture of :data:`SERVICE_FIXTURES`."""
    for item in items:
        if SERVICE_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session", autouse=True)
def _export_root_around_tmp_paths(tmp_path_factory: pytest.TempPathFactory):
    """Tests write to their ``tmp_path``: make pytest's base temporary folder the export root.

    Tests of the default root (none configured) remove the variable with ``monkeypatch``.
    """
    os.environ["AIRFLOW_EXPORT_ROOT"] = str(tmp_path_factory.getbasetemp())
    yield
    os.environ.pop("AIRFLOW_EXPORT_ROOT", None)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB in the session's Airflow home."""
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=dict(os.environ)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _HOME


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for files a person may want to look at after the run (screenshots, evidence)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
