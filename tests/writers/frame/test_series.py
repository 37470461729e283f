"""The file series: a third format is one FileRenderer; naming, counting, rolling and commit come
from the frame (the CSV and PDF writers' contract is in tests/writers/test_contract.py)."""

from __future__ import annotations

import os

import pytest

from airflow_export.writers.frame import FileRenderer, FileSeries, part_path


class Lines(FileRenderer):
    """A toy text format: a header line per file, one line per row."""

    def __init__(self):
        self.closed: list[int] = []

    def begin_file(self, fh):
        self.stream = fh
        fh.write(b"# lines\n")
        return 8

    def file_closed(self, records_so_far):
        self.closed.append(records_so_far)


def write_lines(path, rows, **limits):
    renderer = Lines()
    with FileSeries(path, "lines", renderer, **limits) as series:
        series.write_texts([f"{r}\n" for r in rows], "ascii")
        result = series.finish()
    return result, renderer


@pytest.mark.parametrize(
    ("rows", "limits", "counts"),
    [
        (5, {}, [5]),
        (5, {"max_rows_per_file": 5}, [5]),
        (5, {"max_rows_per_file": 2}, [2, 2, 1]),
        (0, {"max_rows_per_file": 2}, [0]),
        (4, {"max_bytes_per_file": 8 + 2 * 2}, [2, 2]),  # header + two 2-byte rows
        (1, {"max_bytes_per_file": 3}, [1]),  # one row over the limit goes alone into a file
    ],
)
def test_a_renderer_gets_counting_rolling_and_the_one_naming_rule(tmp_path, rows, limits, counts):
    path = tmp_path / "x.lines"
    result, renderer = write_lines(path, range(rows), **limits)
    assert [f.records for f in result.files] == counts
    expected = [str(path)] if len(counts) == 1 else [part_path(path, i) for i in range(1, len(counts) + 1)]
    assert [f.path for f in result.files] == expected == [result.path, *expected[1:]]
    assert result.format == "lines" and result.records == rows
    assert result.bytes == sum(os.path.getsize(p) for p in expected)
    assert renderer.closed == [sum(counts[: i + 1]) for i in range(len(counts))]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in expected)


def test_an_error_in_the_block_removes_every_file(tmp_path):
    with pytest.raises(RuntimeError), FileSeries(tmp_path / "x.lines", "lines", Lines(), max_rows_per_file=1) as series:
        series.write_texts(["a\n", "b\n", "c\n"], "ascii")
        raise RuntimeError("source failed")
    assert os.listdir(tmp_path) == []
