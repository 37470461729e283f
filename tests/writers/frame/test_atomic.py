"""AtomicOutput and part_path: nothing at the target until commit, parts named predictably."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_export.writers.frame import (
    TEMP_SUFFIX,
    AtomicOutput,
    OutputError,
    OutputExistsError,
    part_path,
    remove_stale_temporaries,
)
from airflow_export.writers.frame.naming import HOST_ID


@pytest.mark.parametrize(
    ("path", "index", "expected"),
    [
        ("/x/flights.csv", 1, "/x/flights.part-00001.csv"),
        ("/x/flights.csv", 12, "/x/flights.part-00012.csv"),
        ("/x/flights.csv", 123456, "/x/flights.part-123456.csv"),
        ("/x/flights.csv.gz", 1, "/x/flights.part-00001.csv.gz"),
        ("/x/flights.CSV.GZ", 2, "/x/flights.part-00002.CSV.GZ"),
        ("/x/report.pdf", 3, "/x/report.part-00003.pdf"),
        ("/x/report", 1, "/x/report.part-00001"),
        ("/x/data.gz", 1, "/x/data.part-00001.gz"),
        ("/x/sales.2024.csv", 1, "/x/sales.2024.part-00001.csv"),
        ("/x/sales.2024-01-01", 1, "/x/sales.2024-01-01.part-00001"),
        ("/x/a.b.c.csv.gz", 1, "/x/a.b.c.part-00001.csv.gz"),
        ("rel/out.csv", 1, "rel/out.part-00001.csv"),
    ],
)
def test_part_path(path, index, expected):
    assert part_path(path, index) == expected


@pytest.mark.parametrize("index", [0, -1])
def test_part_path_rejects_index_below_one(index):
    with pytest.raises(ValueError, match=f"part index must be >= 1, got {index}"):
        part_path("/x/a.csv", index)


def temporaries(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(TEMP_SUFFIX))


def test_nothing_at_target_until_commit(tmp_path):
    target = tmp_path / "out.csv"
    output = AtomicOutput(target)
    pending = output.new_file()
    fh = pending.open()
    fh.write(b"hello\n")
    pending.records = 1
    assert not target.exists()
    assert temporaries(tmp_path) == [os.path.basename(pending.temp_path)]
    assert os.path.basename(pending.temp_path).startswith(".out.csv.")
    files = output.commit()
    assert target.read_bytes() == b"hello\n"
    assert temporaries(tmp_path) == []
    assert len(files) == 1
    assert files[0].path == str(target) and files[0].records == 1 and files[0].bytes == 6
    assert files[0].sha256 == hashlib.sha256(b"hello\n").hexdigest()


def test_exception_in_block_removes_temporaries_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), AtomicOutput(target) as output:
        output.new_file().open().write(b"new")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert temporaries(tmp_path) == []


def test_abort_removes_every_part(tmp_path):
    output = AtomicOutput(tmp_path / "p.csv", parts=True)
    for _ in range(3):
        output.new_file().open().write(b"x")
    assert len(temporaries(tmp_path)) == 3
    output.abort()
    assert os.listdir(tmp_path) == []


def test_parts_are_named_and_committed_in_order(tmp_path):
    output = AtomicOutput(tmp_path / "p.csv", parts=True)
    for n in range(3):
        output.new_file().open().write(b"%d" % n)
    files = output.commit()
    assert [os.path.basename(f.path) for f in files] == ["p.part-00001.csv", "p.part-00002.csv", "p.part-00003.csv"]
    assert [Path(f.path).read_bytes() for f in files] == [b"0", b"1", b"2"]


def test_commit_removes_parts_of_a_longer_earlier_run(tmp_path):
    for n in range(1, 5):
        (tmp_path / f"p.part-{n:05d}.csv").write_bytes(b"old")
    output = AtomicOutput(tmp_path / "p.csv", parts=True)
    output.new_file().open().write(b"new")
    output.commit()
    assert sorted(os.listdir(tmp_path)) == ["p.part-00001.csv"]


def test_single_file_export_cannot_open_a_second_file(tmp_path):
    output = AtomicOutput(tmp_path / "s.csv")
    output.new_file()
    with pytest.raises(RuntimeError, match="a single-file export cannot open a second file; pass parts=True"):
        output.new_file()
    output.abort()


def test_overwrite_false_fails_at_construction(tmp_path):
    target = tmp_path / "o.csv"
    target.write_bytes(b"x")
    with pytest.raises(OutputError, match=f"output file {target} already exists and overwrite=False"):
        AtomicOutput(target, overwrite=False)


def test_overwrite_false_refuses_any_existing_part_up_front_and_checks_each_new_part(tmp_path):
    (tmp_path / "o.part-00002.csv").write_bytes(b"x")
    with pytest.raises(OutputError, match="o.part-00002.csv already exists and overwrite=False"):
        AtomicOutput(tmp_path / "o.csv", overwrite=False, parts=True)  # before any work
    (tmp_path / "o.part-00002.csv").unlink()
    output = AtomicOutput(tmp_path / "o.csv", overwrite=False, parts=True)
    output.new_file()
    (tmp_path / "o.part-00002.csv").write_bytes(b"appeared meanwhile")
    with pytest.raises(OutputError, match="o.part-00002.csv already exists and overwrite=False"):
        output.new_file()
    output.abort()


def test_directory_as_target_is_rejected(tmp_path):
    with pytest.raises(OutputError, match=f"output path {tmp_path} is a directory, expected a file path"):
        AtomicOutput(tmp_path)


def test_missing_directories_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "c.csv"
    output = AtomicOutput(target)
    output.new_file().open().write(b"1")
    output.commit()
    assert target.read_bytes() == b"1"


def test_unwritable_parent_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(OutputError, match="cannot create output directory"):
        AtomicOutput(blocker / "sub" / "x.csv")


def _dead_pid():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".out.csv.{dead}-abcd1234-{HOST_ID}{TEMP_SUFFIX}"
    stale_part = tmp_path / f".out.part-00002.csv.{dead}-abcd1234-{HOST_ID}{TEMP_SUFFIX}"
    mine = tmp_path / f".out.csv.{os.getpid()}-abcd1234-{HOST_ID}{TEMP_SUFFIX}"
    unrelated = tmp_path / f".other.csv.{dead}-abcd1234-{HOST_ID}{TEMP_SUFFIX}"
    same_prefix = tmp_path / f".out_2024.csv.{dead}-abcd1234-{HOST_ID}{TEMP_SUFFIX}"  # another target
    other_host = tmp_path / f".out.csv.{dead}-abcd1234-ffffffff{TEMP_SUFFIX}"  # a PID of another machine
    for path in (stale, stale_part, mine, unrelated, same_prefix, other_host):
        path.write_bytes(b"")
    removed = remove_stale_temporaries(tmp_path / "out.csv")
    assert sorted(removed) == sorted([str(stale), str(stale_part)])
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, unrelated.name, same_prefix.name, other_host.name])


def test_rolled_then_single_then_rolled_leaves_only_the_last_set(tmp_path):
    def export(parts: int | None) -> list[str]:
        with AtomicOutput(tmp_path / "r.csv", parts=parts is not None) as out:
            for _ in range(parts or 1):
                out.new_file().open().write(b"x")
            return [os.path.basename(f.path) for f in out.commit()]

    assert export(3) == ["r.part-00001.csv", "r.part-00002.csv", "r.part-00003.csv"]
    assert export(None) == ["r.csv"]
    assert sorted(os.listdir(tmp_path)) == ["r.csv"]
    assert export(2) == ["r.part-00001.csv", "r.part-00002.csv"]
    assert sorted(os.listdir(tmp_path)) == ["r.part-00001.csv", "r.part-00002.csv"]


def test_overwrite_false_loses_a_race_cleanly(tmp_path):
    target = tmp_path / "once.csv"
    with AtomicOutput(target, overwrite=False) as a:
        a.new_file().open().write(b"A")
        target.write_bytes(b"B")  # another export finished first
        with pytest.raises(OutputExistsError, match="appeared while exporting"):
            a.commit()
    assert target.read_bytes() == b"B"
    assert os.listdir(tmp_path) == ["once.csv"]


def test_constructor_cleans_stale_temporaries(tmp_path):
    stale = tmp_path / f".out.csv.{_dead_pid()}-00000000-{HOST_ID}{TEMP_SUFFIX}"
    stale.write_bytes(b"partial")
    AtomicOutput(tmp_path / "out.csv")
    assert not stale.exists()


# ---------------------------------------------------------------- SHA-256 and size while writing


def test_hashing_writer_gives_digest_and_size_without_reading_back(tmp_path, monkeypatch):
    import airflow_export.writers.frame.pending as output_module

    def no_reading(path):
        raise AssertionError(f"{path} was read back")

    monkeypatch.setattr(output_module, "_sha256_and_size", no_reading)
    output = AtomicOutput(tmp_path / "h.csv")
    pending = output.new_file()
    fh = pending.open(hashing=True)
    assert fh.write(b"abc") == 3
    assert fh.write(memoryview(b"de")) == 2
    pending.records = 2
    files = output.commit()
    assert (tmp_path / "h.csv").read_bytes() == b"abcde"
    assert (files[0].bytes, files[0].sha256) == (5, hashlib.sha256(b"abcde").hexdigest())


def test_hashing_writer_under_gzip(tmp_path):
    import gzip

    output = AtomicOutput(tmp_path / "h.csv.gz")
    pending = output.new_file()
    raw = pending.open(hashing=True)
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(b"x" * 100_000)
    files = output.commit()
    data = (tmp_path / "h.csv.gz").read_bytes()
    assert gzip.decompress(data) == b"x" * 100_000
    assert (files[0].bytes, files[0].sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_bytes_written_around_the_hashing_writer_are_still_counted(tmp_path):
    # The size check at commit catches a file written past the wrapper: it is read back instead.
    output = AtomicOutput(tmp_path / "h.csv")
    pending = output.new_file()
    pending.open(hashing=True).write(b"abc")
    pending._fh.write(b"def")  # not through the wrapper
    files = output.commit()
    assert (files[0].bytes, files[0].sha256) == (6, hashlib.sha256(b"abcdef").hexdigest())


def test_plain_open_is_read_back_at_commit(tmp_path):
    output = AtomicOutput(tmp_path / "p.csv")
    pending = output.new_file()
    fh = pending.open()
    assert not hasattr(fh, "hexdigest")  # the real file object, as the PDF writer wants
    fh.write(b"pdf")
    files = output.commit()
    assert (files[0].bytes, files[0].sha256) == (3, hashlib.sha256(b"pdf").hexdigest())


def test_a_name_too_long_for_its_temporary_file_is_refused_up_front(tmp_path):
    from airflow_export.writers.frame import AtomicOutput, OutputError

    ok = "n" * 190 + ".csv"  # 194 bytes: its part name and temporary name still fit in 255
    with AtomicOutput(tmp_path / ok) as out:
        pending = out.new_file()
        pending.open().write(b"x")
        out.commit()
    assert (tmp_path / ok).read_bytes() == b"x"
    long = "é" * 100 + ".csv"  # 204 bytes in UTF-8
    with pytest.raises(OutputError) as caught:
        AtomicOutput(tmp_path / long)
    assert caught.value.errno == errno.ENAMETOOLONG
    assert str(caught.value).endswith(
        "is 204 bytes; with its temporary (and part) suffixes it would exceed the file system's 255-byte limit: "
        "use a name of at most 198 bytes")
