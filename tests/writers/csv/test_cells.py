"""The CSV fast path (csv_chunk, CsvChunk): cells, stand-ins and counts, one exact case per line."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from airflow_export.writers.csv import write_csv
from airflow_export.writers.csv.chunk import CsvChunk, csv_chunk


class Opaque:
    pass


# ---------------------------------------------------------------- whole batches (the CSV hot path)


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ([("a", 1), ("=b", 2)], [["a", "1"], ["'=b", "2"]]),  # pure str column
        ([("a", 1), (None, 2), ("-b", 3)], [["a", "1"], ["", "2"], ["'-b", "3"]]),  # str + None
        ([(1.5,), (float("nan"),)], [["1.5"], ["NaN"]]),  # pure float column
        ([(1.5,), (None,), (float("nan"),)], [["1.5"], [""], ["NaN"]]),  # float + None
        ([(float("inf"),), (float("-inf"),)], [["inf"], ["-inf"]]),  # inf + -inf: alarm, no change
        ([(True, 1), (False, 2)], [["true", "1"], ["false", "2"]]),
        ([(1, Decimal("1E+2"))], [["1", "100"]]),
        ([("x", date(2020, 1, 2))], [["x", "2020-01-02"]]),
    ],
)
def test_batch_cells_through_write_csv(tmp_path, batch, expected):
    """What write_csv writes for a batch with Python's csv rules (empty_string="empty")."""
    path = tmp_path / "x.csv"
    write_csv(batch, path, columns=["a", "b"][: len(batch[0])], header=False, lineterminator="\n",
              empty_string="empty")
    assert list(csv.reader(io.StringIO(path.read_text()))) == expected


@pytest.mark.parametrize(
    "batch",
    [
        [(1, "a", 1.5, None)] * 3,
        [(1, "a", None, None), (None, None, 2.5, None)],
        [("1", 0, 0.0, "")],
        [("a b", -1, -0.5, "x-y")],
    ],
)
def test_csv_chunk_returns_the_batch_itself_when_nothing_changes(batch):
    chunk = csv_chunk(batch, list("abcd"))
    assert chunk.rows(chunk.cells()) is batch


def test_csv_chunk_guard_off_and_null_marker():
    batch = [("=x", None, 1.0), (None, 2, None)]
    plain = csv_chunk(batch, list("abc"), formula_guard=False)
    assert plain.rows(plain.cells()) is batch
    guarded = csv_chunk(batch, list("abc"))
    assert guarded.rows(guarded.cells(null_cell="NULL")) == [("'=x", "NULL", 1.0), ("NULL", 2, "NULL")]


def test_csv_chunk_error_names_row_and_column():
    with pytest.raises(TypeError, match=r"^row 12, column 'b': cannot render value of type Opaque$"):
        csv_chunk([(1, 2), (3, Opaque())], ["a", "b"], first_row=11)


# ---------------------------------------------------------------- csv_chunk: stand-ins and counts


E, N, M = '"\x1a', '"\x1c', '"\x1d'


@pytest.mark.parametrize(
    ("batch", "marker", "cells", "rows", "counts"),
    [
        # pure str column with "" (and the formula guard)
        ([("", 1), ("=x", 2), ("a", 3)], None, {"empty_cell": E}, [(E, 1), ("'=x", 2), ("a", 3)], (0, 1, 0)),
        # str + None column: None kept (null_cell None), "" replaced
        ([("", None), (None, 1.5)], None, {"empty_cell": E}, [(E, None), (None, 1.5)], (0, 1, 0)),
        # nulls replaced in every kind of column, NA-like values too
        ([(None, None, None, pd.NA), (1, 1.5, "s", np.datetime64("NaT"))], None, {"null_cell": N},
         [(N, N, N, N), (1, 1.5, "s", N)], (5, 0, 0)),
        # marker-equal texts (but not numbers), before nulls become the marker text
        ([("NULL", None, 0), ("x", "NULL", None)], "NULL",
         {"null_cell": "NULL", "marker_cell": M}, [(M, "NULL", 0), ("x", M, "NULL")], (2, 0, 2)),
        # b"" is an empty text too
        ([(b"", b"\x01")], None, {"empty_cell": E}, [(E, "01")], (0, 1, 0)),
        # nothing to do: the batch itself
        ([(1, "a", 1.5, None)], "NULL", {"empty_cell": E, "marker_cell": M}, None, (0, 0, 0)),
    ],
)
def test_csv_chunk_cells_with_stand_ins(batch, marker, cells, rows, counts):
    chunk = csv_chunk(batch, [f"c{i}" for i in range(len(batch[0]))], marker_text=marker)
    assert isinstance(chunk, CsvChunk)
    result = chunk.cells(count_nulls=True, **cells)
    assert (result.nulls, result.empties, result.markers) == counts
    if rows is None:
        assert chunk.rows(result) is batch and not result.changed
    else:
        assert [tuple(r) for r in chunk.rows(result)] == rows


def test_csv_chunk_kinds_nulls_and_counts():
    batch = [(1, 1.5, "a", None, b"x", None), (None, None, "", "", 2, None)]
    chunk = csv_chunk(batch, list("abcdef"), marker_text="a")
    assert chunk.kinds == ["number", "number", "str", "str", "mixed", "number"]
    assert chunk.null_columns == (0, 1, 3, 5)
    assert chunk.empty_counts == {2: 1, 3: 1}
    assert chunk.marker_counts == {2: 1}
    assert [list(c) for c in chunk.columns] == [[1, None], [1.5, None], ["a", ""], [None, ""], ["78", 2], [None, None]]


@pytest.mark.parametrize(
    ("batch", "plain"),
    [
        ([("a", 1), ("b", 2.5)], True),
        ([("a,b", 1)], False),
        ([('say "hi"', 1)], False),
        ([("line\nbreak", 1)], False),
        ([("cr\ronly", 1)], False),
        ([(None, 1), ("x,", 2)], False),  # str + None column
        ([({"a": 1, "b": 2}, 1)], False),  # JSON text holds '"' and ','
        ([(Decimal("-1.5"), -1)], True),  # numbers are never scanned
        ([("'quoted", 1)], True),
    ],
)
def test_csv_chunk_plain_tells_whether_a_text_cell_needs_quotes(batch, plain):
    assert csv_chunk(batch, ["a", "b"], special_chars=',"\r\n').plain is plain
    assert csv_chunk(batch, ["a", "b"]).plain is True  # not asked


def test_csv_chunk_plain_sees_the_formula_guard_prefix():
    # With quotechar "'" the guard's prefix is a quote character: the cell needs quotes.
    assert csv_chunk([("=x",)], ["a"], special_chars=",'\r\n").plain is False
    assert csv_chunk([("=x",)], ["a"], special_chars=",'\r\n", formula_guard=False).plain is True


def test_csv_chunk_defers_nan_check_of_float_and_none_columns_only():
    batch = [(1.0, None, float("nan")), (float("nan"), 2.0, 1.0)]
    chunk = csv_chunk(batch, ["a", "b", "c"], check_nan=False)
    assert chunk.unchecked_floats == (1,)  # column b (floats and None); a and c are checked anyway
    assert [[str(c) for c in column] for column in chunk.columns] == [["1.0", "NaN"], ["None", "2.0"], ["NaN", "1.0"]]
    assert csv_chunk(batch, ["a", "b", "c"]).unchecked_floats == ()


def test_csv_chunk_empty_string_detection_with_and_without_guard():
    batch = [("a",), ("",), ("-b",)]
    for guard, texts in ((True, ["a", E, "'-b"]), (False, ["a", E, "-b"])):
        chunk = csv_chunk(batch, ["s"], formula_guard=guard)
        assert chunk.empty_counts == {0: 1}
        assert list(chunk.cells(empty_cell=E).columns[0]) == texts
    assert csv_chunk([("a",), ("b",)], ["s"], formula_guard=False).empty_counts == {}
