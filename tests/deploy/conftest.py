"""Fixtures of the deploy tests: the ``promtool`` binary (required, never skipped)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
GRAFANA_DIR = REPO / "deploy" / "grafana"

MISSING_PROMTOOL = (
    "promtool not found on PATH: run scripts/setup.sh, which installs it "
    "(Debian: apt-get install -y --no-install-recommends prometheus)"
)


def require_promtool() -> str:
    """Path of ``promtool``; FAILS the calling test (never a skip) when it is not installed."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(MISSING_PROMTOOL, pytrace=False)
    return path


@pytest.fixture
def promtool() -> str:
    """Alias of :func:`require_promtool` for tests taking it as an argument.

    A failure in a fixture is reported as an ERROR; tests that want a plain FAILED call
    :func:`require_promtool` themselves.
    """
    return require_promtool()


def run_promtool(promtool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``promtool *args`` and return the finished process (stdout/stderr as text)."""
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)
