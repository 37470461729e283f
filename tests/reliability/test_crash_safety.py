"""SIGKILL in the middle of an export never leaves a file at the target path.

Real subprocesses write a large CSV or PDF export and are killed with SIGKILL at random
moments (fixed seed, so a failure reproduces). After each kill the target must not exist;
a clearly named temporary file may remain, and the next run of the same export removes it
and produces the complete file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

WRITER = textwrap.dedent(
    """
    import sys
    from airflow_export import write_csv, write_pdf
    fmt, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rows = ((i, f"name {i}, \\"q\\"", i * 0.5, None if i % 7 == 0 else "note") for i in range(n))
    writer = write_csv if fmt == "csv" else write_pdf
    print("started", flush=True)
    result = writer(rows, path, columns=["id", "name", "value", "note"])
    print("done", result.records, flush=True)
    """
)


def start(fmt: str, path: str, n: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, fmt, path, str(n)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"  # imports are done: the kill lands inside the export
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("fmt, rows, max_delay", [("csv", 3_000_000, 1.5), ("pdf", 200_000, 1.5)])
def test_sigkill_never_leaves_a_file_at_the_target(fmt, rows, max_delay, tmp_path):
    rng = random.Random(f"crash-{fmt}")
    target = tmp_path / f"export.{fmt}"
    for attempt in range(10):
        proc = start(fmt, str(target), rows)
        time.sleep(rng.uniform(0.0, max_delay))
        assert proc.poll() is None, f"attempt {attempt}: the export finished before the kill; make it larger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert not target.exists(), f"attempt {attempt}: a file stands at the target after SIGKILL"
        leftovers = [p.name for p in tmp_path.iterdir()]
        assert all(
            name.startswith(f".export.{fmt}.") and name.endswith(".airflow-export-tmp") for name in leftovers
        ), leftovers

    # The next complete run of the same export cleans up the dead runs' temporary files.
    small = subprocess.run([sys.executable, "-c", WRITER, fmt, str(target), "1000"], capture_output=True, text=True)
    assert small.returncode == 0, small.stderr
    assert "done 1000" in small.stdout
    assert [p.name for p in tmp_path.iterdir()] == [f"export.{fmt}"]
