"""``make up``'s launcher against a real Airflow: a component that dies is named, with its log tail
(issue 16, item 8), and the launcher stops the rest."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from tests.support.stack import free_port, launcher, read, wait_until

pytestmark = pytest.mark.e2e


def test_up_names_the_component_that_died_with_its_log_tail(tmp_path):
    home = tmp_path / "home"
    proc = launcher("up", "--port", str(free_port()), "--home", str(home), output=tmp_path)
    try:
        wait_until(lambda: "Airflow is up" in read(tmp_path / "stdout.txt") or proc.poll() is not None, 300,
                   "the launcher to report Airflow up")
        assert proc.poll() is None, read(tmp_path / "stderr.txt")[-3000:]
        started = psutil.Process(proc.pid).children(recursive=True)
        [victim] = [p for p in started if p.pid == os.getpgid(p.pid) and "dag-processor" in p.cmdline()]
        os.killpg(victim.pid, signal.SIGKILL)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the launcher stops what it started
            proc.wait(60)
    err = read(tmp_path / "stderr.txt")
    assert code == 1, err[-3000:]
    log = home / "logs" / "dag-processor.out"
    assert f"component 'dag-processor' exited with code -9; last lines of {log}:\n" in err
    last_line = read(log).splitlines()[-1]
    assert last_line and last_line in err
    assert "stopping the others" in err
    assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
