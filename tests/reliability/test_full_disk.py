"""A full disk, a quota or a file size limit: a clear error naming the target, and nothing lost.

Two real ways to run out of space, no mocks:

* a 256 KiB tmpfs mounted for the test (``ENOSPC``; needs root, which ``scripts/setup.sh``
  and CI have: if the mount is refused the test FAILS, it does not skip);
* ``RLIMIT_FSIZE`` in a child process (``EFBIG``; works for any user).

Each time the export must raise :class:`OutputSpaceError` (an ``OSError`` keeping the original
errno) whose message names the target; the previous file at the target stays as it was, and no
temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
import sys
import textwrap

import pytest

from airflow_export import ExportCsvOperator, ExportPdfOperator, write_csv, write_pdf
from airflow_export.metrics import failure_reason
from airflow_export.writers.frame import OutputError, OutputSpaceError

ROWS = 20_000


def rows(n: int = ROWS):
    return ([i, f"name {i}, with text to fill the disk", i * 1.5, None] for i in range(n))


@contextlib.contextmanager
def tmpfs(mount, options: str):
    """A tmpfs mounted at ``mount`` with ``options`` (e.g. ``size=256k``), unmounted afterwards."""
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (needs root, as CI has): {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.fixture()
def small_disk(tmp_path):
    """A 256 KiB tmpfs."""
    with tmpfs(tmp_path / "disk", "size=256k") as mount:
        yield mount


@pytest.fixture()
def no_inodes(tmp_path):
    """A tmpfs whose last free inode is taken by the file ``taken``."""
    with tmpfs(tmp_path / "inodes", "size=1m,nr_inodes=2") as mount:
        (mount / "taken").write_text("uses the last inode")
        yield mount


@pytest.mark.parametrize("writer, name", [(write_csv, "out.csv"), (write_pdf, "out.pdf")])
def test_disk_full_raises_a_clear_error_and_keeps_the_old_file(small_disk, writer, name):
    target = small_disk / name
    target.write_bytes(b"the previous, complete export\n")
    with pytest.raises(OutputSpaceError) as err:
        writer(rows(), target, columns=["id", "name", "amount", "note"])
    assert err.value.errno == errno.ENOSPC
    assert isinstance(err.value, OutputError) and isinstance(err.value, OSError)
    message = str(err.value)
    assert f"no space left on device while writing {target}" in message
    assert "the target is left as it was" in message
    assert target.read_bytes() == b"the previous, complete export\n"
    assert sorted(p.name for p in small_disk.iterdir()) == [name]  # no temporary file left
    assert failure_reason(err.value) == "write_error"


@pytest.mark.parametrize("op_class, name", [(ExportCsvOperator, "op.csv"), (ExportPdfOperator, "op.pdf")])
def test_operator_on_a_full_disk(small_disk, op_class, name):
    op = op_class(task_id="full", rows=[[i, "x" * 40] for i in range(ROWS)], columns=["id", "text"],
                  output_path=str(small_disk / name))
    with pytest.raises(OutputSpaceError, match=rf"no space left on device while writing {small_disk / name}"):
        op.execute({})
    assert list(small_disk.iterdir()) == []


CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from airflow_export import write_csv, write_pdf
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of a killing signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    writer = write_csv if sys.argv[1] == "csv" else write_pdf
    try:
        writer(([i, f"name {i}", i * 1.5] for i in range(50_000)), sys.argv[2], columns=["id", "name", "amount"])
    except OSError as exc:
        print(type(exc).__name__, exc.errno, exc, sep="|")
    """
)


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_file_size_limit(tmp_path, fmt):
    target = tmp_path / f"limited.{fmt}"
    proc = subprocess.run([sys.executable, "-c", CHILD, fmt, str(target)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    kind, code, message = proc.stdout.strip().split("|", 2)
    assert (kind, int(code)) == ("OutputSpaceError", errno.EFBIG)
    assert f"file size limit exceeded while writing {target}" in message
    assert list(tmp_path.iterdir()) == []


def test_no_free_inodes(no_inodes):
    """Creating the temporary file itself fails (ENOSPC on create): the same clear error."""
    with pytest.raises(OutputSpaceError, match=rf"no space left on device while writing {no_inodes / 'x.csv'}"):
        write_csv([[1]], no_inodes / "x.csv", columns=["a"])
    assert sorted(p.name for p in no_inodes.iterdir()) == ["taken"]


def test_no_inode_for_a_missing_directory(no_inodes):
    expected = rf"no space left on device: cannot create output directory {no_inodes / 'sub'}"
    with pytest.raises(OutputSpaceError, match=expected):
        write_csv([[1]], no_inodes / "sub" / "x.csv", columns=["a"])
