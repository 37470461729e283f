"""The launcher's process rules, with stand-in components: own process groups, SIGTERM then SIGKILL,
and a component that dies is named with the last lines of its log (issue 16, item 8)."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from scripts import launcher
from scripts.stack import Component, ComponentExited, Stack, Topology
from scripts.stack.processes import Processes
from scripts.stack.rest import AirflowApi
from tests.support.stack import process_running, wait_until

#: A component that logs a few lines, starts a child in its group, and ignores SIGTERM (like a busy scheduler).
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
for n in range(50):
    print(f"{sys.argv[1]} line {n}", flush=True)
print(f"child {child.pid}", flush=True)
time.sleep(600)
"""


def _component(name: str) -> Component:
    return Component(name, (sys.executable, "-c", STUBBORN, name))


def _child_pid(processes: Processes, name: str) -> int:
    line = wait_until(lambda: next((ln for ln in processes.log_tail(name).splitlines() if ln.startswith("child ")),
                                   None), 30, f"{name} to start its child", interval=0.1)
    return int(line.split()[1])


def test_stop_kills_the_whole_group_of_a_component_that_ignores_sigterm(tmp_path):
    processes = Processes(tmp_path / "logs")
    proc = processes.start("stubborn", _component("stubborn").argv, os.environ)
    child = _child_pid(processes, "stubborn")
    assert os.getpgid(proc.pid) == proc.pid  # its own process group
    started = time.monotonic()
    processes.stop(timeout=1)
    assert time.monotonic() - started < 10
    assert proc.returncode == -signal.SIGKILL
    wait_until(lambda: not process_running(child), 10, "the component's child to be gone", interval=0.1)
    assert processes.running == {}


def test_a_dead_component_is_named_with_its_log_tail(tmp_path, capsys):
    topology = Topology("stand-in", {}, (_component("worker-a"), _component("worker-b")))
    stack = Stack(tmp_path / "home", topology=topology)
    stack.start()
    try:
        victim = stack.processes.running["worker-b"]
        _child_pid(stack.processes, "worker-b")
        assert stack.processes.exited() is None
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        with pytest.raises(ComponentExited) as caught:
            stack.processes.check_alive()
        # What `launcher up` prints when a component dies.
        assert launcher.stay_up(stack) == 1
    finally:
        stack.stop(timeout=1)
    log = tmp_path / "home" / "logs" / "worker-b.out"
    expected = f"component 'worker-b' exited with code -9; last lines of {log}:\n"
    assert str(caught.value).startswith(expected)
    assert "worker-b line 49" in str(caught.value) and "worker-a" not in str(caught.value)
    err = capsys.readouterr().err
    assert err.startswith(expected) and "worker-b line 49" in err


def test_waits_end_when_a_component_dies():
    def dead() -> None:
        raise ComponentExited("component 'scheduler' exited with code 1")

    api = AirflowApi("http://127.0.0.1:9", "admin", "admin", alive=dead)
    with pytest.raises(ComponentExited, match="scheduler"):
        api.wait_run("some_dag", "some_run", timeout=60)
    with pytest.raises(ComponentExited, match="scheduler"):
        api.wait_dag("some_dag", timeout=60)


#: A component that reports the metrics settings it was started with.
REPORT_METRICS_ENV = """
import os, time
for key in ("AIRFLOW__METRICS__STATSD_ON", "AIRFLOW__METRICS__STATSD_PORT", "AIRFLOW_EXPORT_METRICS_URL"):
    print(f"{key}={os.environ.get(key)}", flush=True)
time.sleep(600)
"""


def test_components_get_the_ports_of_the_bridge_started_before_them(tmp_path):
    topology = Topology("stand-in", {}, (Component("reporter", (sys.executable, "-c", REPORT_METRICS_ENV)),))
    stack = Stack(tmp_path / "home", topology=topology, bridge=True)
    stack.start()
    try:
        assert list(stack.processes.running) == ["bridge", "reporter"]
        stack.scrape()  # the bridge serves /metrics
        lines = wait_until(lambda: stack.log_tail("reporter").count("\n") >= 2 and stack.log_tail("reporter"), 30,
                           "the reporter's output", interval=0.1)
    finally:
        stack.stop(timeout=1)
    assert lines.splitlines() == [
        "AIRFLOW__METRICS__STATSD_ON=True",
        f"AIRFLOW__METRICS__STATSD_PORT={stack.statsd_port}",
        f"AIRFLOW_EXPORT_METRICS_URL=http://127.0.0.1:{stack.metrics_port}/metrics",
    ]
