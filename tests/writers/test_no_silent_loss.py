"""No value is dropped silently, in both writers (docs/adr/0050, 0051): mapping rows whose keys
differ, and text no file can hold (a lone UTF-16 surrogate). Values are read back (csv.reader,
pypdf)."""

from __future__ import annotations

import os

import pytest

from tests.writers.test_contract import WRITERS


def gen(rows):
    yield from rows


@WRITERS
def test_rows_in_memory_write_every_key_as_a_column(tmp_path, writer):
    rows = [{"id": 1, "a": "x"}, {"id": 2, "b": "y"}] + [{"id": n} for n in range(3, 130)] + [{"id": 130, "c": "w"}]
    path = tmp_path / f"u{writer.suffix}"
    result = writer.write(rows, path, null_marker="-", **{writer.batch: 40})
    lines = [line for page in writer.pages(path) for line in page]
    assert lines[0] == ["id", "a", "b", "c"]
    data = [line for line in lines if line != lines[0]]
    assert data[:2] == [["1", "x", "-", "-"], ["2", "-", "y", "-"]]
    assert data[-1] == ["130", "-", "-", "w"]  # the key first seen in the last row
    assert len(data) == result.records == 130


@WRITERS
def test_streamed_rows_with_a_new_key_after_the_window_fail_and_leave_no_file(tmp_path, writer):
    path = tmp_path / f"s{writer.suffix}"
    path.write_bytes(b"earlier export")
    rows = [{"id": n} for n in range(1, 1200)] + [{"id": 1200, "extra": "value"}] + [{"id": 1201}]
    with pytest.raises(ValueError) as info:
        writer.write(gen(rows), path, **{writer.batch: 100})  # many rows were written to the temporary file
    assert str(info.value).startswith(
        "row 1200: key 'extra' not among the columns ['id'], which are the keys of the first 1000 rows of a "
        "streamed input; pass columns=[...]"
    )
    assert os.listdir(tmp_path) == [path.name] and path.read_bytes() == b"earlier export"


@WRITERS
def test_streamed_rows_with_a_new_key_inside_the_window_are_all_written(tmp_path, writer):
    rows = [{"id": n} for n in range(1, 1000)] + [{"id": 1000, "late": "kept"}]
    path = tmp_path / f"w{writer.suffix}"
    writer.write(gen(rows), path, null_marker="-", **{writer.batch: 100})
    lines = [line for page in writer.pages(path) for line in page]
    assert lines[0] == ["id", "late"] and lines[-1] == ["1000", "kept"] and lines[1] == ["1", "-"]


@WRITERS
def test_given_columns_choose_the_keys(tmp_path, writer):
    rows = gen([{"a": 1, "b": 2, "secret": "s"}, {"b": 3, "other": "o"}])
    path = tmp_path / f"c{writer.suffix}"
    writer.write(rows, path, columns=["b", "a"], null_marker="-")
    assert [line for page in writer.pages(path) for line in page] == [["b", "a"], ["2", "1"], ["3", "-"]]
