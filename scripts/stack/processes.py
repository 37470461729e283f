"""The stack's processes: each in its own process group, its output in ``<logs>/<name>.out``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class ComponentExited(RuntimeError):
    """A component of the stack ended while the stack should be running (name and log tail in the message)."""


class Processes:
    """Start, watch and stop named processes.

    :param logs: folder of the ``<name>.out`` files (stdout and stderr, appended).
    """

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen:
        """Start ``argv`` as component ``name`` in a new session (its own process group)."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(list(argv), env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.running[name] = proc
        return proc

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.out"

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last ``lines`` lines of the component's output ("" before it wrote any)."""
        path = self.log_path(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def exited(self, lines: int = 20) -> str | None:
        """A message naming the first component that has ended, with its exit code and log tail; None if all run."""
        for name, proc in self.running.items():
            if proc.poll() is not None:
                return (f"component {name!r} exited with code {proc.returncode}; "
                        f"last lines of {self.log_path(name)}:\n{self.log_tail(name, lines)}")
        return None

    def check_alive(self) -> None:
        """:raises ComponentExited: a component has ended (see :meth:`exited`)."""
        message = self.exited()
        if message:
            raise ComponentExited(message)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every process group, wait up to ``timeout`` s, then SIGKILL every group.

        The SIGKILL also ends what a component left in its group, and a component that ignores SIGTERM.
        """
        for proc in self.running.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.running.values():
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        self.running.clear()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
