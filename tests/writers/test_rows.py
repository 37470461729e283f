"""iter_batches: column names, batching, laziness, and the rules for uneven rows."""

from __future__ import annotations

import logging
import sqlite3
from collections import OrderedDict

import pytest

from airflow_export.writers.rows import iter_batches, iter_rows


def collect(rows, columns=None, batch_size=1000, **kw):
    names, batches = iter_batches(rows, columns, batch_size, **kw)
    return names, [list(map(tuple, b)) for b in batches]


@pytest.mark.parametrize(
    ("rows", "columns", "batch_size", "names", "batches"),
    [
        ([(1, 2), (3, 4), (5, 6)], None, 2, ["col_1", "col_2"], [[(1, 2), (3, 4)], [(5, 6)]]),
        ([(1, 2), (3, 4)], ["a", "b"], 10, ["a", "b"], [[(1, 2), (3, 4)]]),
        ([[1], [2], [3]], ["x"], 1, ["x"], [[(1,)], [(2,)], [(3,)]]),
        ([(1, 2, 3)] * 4, None, 2, ["col_1", "col_2", "col_3"], [[(1, 2, 3)] * 2] * 2),
        ([], None, 5, [], []),
        ([], ["a", "b"], 5, ["a", "b"], []),
        (iter([]), ("a",), 5, ["a"], []),
        ([{"a": 1, "b": 2}, {"a": 3, "b": 4}], None, 10, ["a", "b"], [[(1, 2), (3, 4)]]),
        ([{"b": 1, "a": 2}], None, 10, ["b", "a"], [[(1, 2)]]),
        ([{"a": 1, "b": 2}], ["b", "a"], 10, ["b", "a"], [[(2, 1)]]),
        ([{"a": 1, "b": 2}], ["b"], 10, ["b"], [[(2,)]]),
        ([{"a": 1}, {"b": 2}, {}], ["a", "b"], 2, ["a", "b"], [[(1, None), (None, 2)], [(None, None)]]),
        ([{"a": 1}, {"a": 2, "b": 3}], None, 10, ["a", "b"], [[(1, None), (2, 3)]]),
        ([{1: "x", 2: "y"}], None, 10, ["1", "2"], [[("x", "y")]]),
        ([OrderedDict([("z", 0), ("y", 1)])], None, 10, ["z", "y"], [[(0, 1)]]),
        ([{"a": None, "b": 0}], None, 10, ["a", "b"], [[(None, 0)]]),
    ],
)
def test_names_and_batches(rows, columns, batch_size, names, batches):
    assert collect(rows, columns, batch_size) == (names, batches)


def test_sequence_rows_are_passed_through_not_copied():
    row = (1, 2)
    _, batches = iter_batches([row])
    assert next(batches)[0] is row


def test_sqlite_rows_are_accepted():
    con = sqlite3.connect(":memory:")
    con.row_factory = sqlite3.Row
    cur = con.execute("select 1 as a, 'x' as b union all select 2, 'y'")
    names, batches = iter_batches(cur, ["a", "b"])
    assert names == ["a", "b"]
    assert [tuple(r) for b in batches for r in b] == [(1, "x"), (2, "y")]


@pytest.mark.parametrize(
    ("rows", "columns", "message"),
    [
        ([(1, 2), (3,)], None, "row 2: expected 2 fields, got 1"),
        ([(1, 2), (3, 4), (5, 6, 7)], None, "row 3: expected 2 fields, got 3"),
        ([(1, 2)], ["a", "b", "c"], "row 1: expected 3 fields (one per column), got 2"),
        ([(1,)] * 1500 + [(1, 2)], None, "row 1501: expected 1 fields, got 2"),
    ],
)
def test_wrong_field_count_names_row(rows, columns, message):
    with pytest.raises(ValueError) as info:
        _, batches = iter_batches(rows, columns, 1000)
        list(batches)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["abc"], "row 1: a row must be a sequence of fields or a mapping, got str "
                  "(a string is not a row; wrap it in a tuple)"),
        ([(1, 2), "ab"], "row 2: a row must be a sequence of fields or a mapping, got str "
                         "(a string is not a row; wrap it in a tuple)"),
        ([5], "row 1: a row must be a sequence of fields or a mapping, got int"),
        ([(1,), {"a": 1}], "row 2: got a mapping row after sequence rows; "
                           "all rows of one export must be sequences or all mappings"),
        ([{"a": 1}, (1,)], "row 2: got tuple after mapping rows; "
                           "all rows of one export must be mappings or all sequences"),
    ],
)
def test_bad_row_types_name_the_row(rows, message):
    with pytest.raises(TypeError) as info:
        list(iter_batches(rows)[1])
    assert str(info.value) == message


# ---------------------------------------------------------------- mapping rows whose keys differ (ADR 0050)


@pytest.mark.parametrize("container", [list, tuple])
def test_rows_in_memory_take_the_union_of_all_keys_in_first_seen_order(container, caplog):
    rows = container([{"a": 1}, {"b": 2, "a": 3}, {"a": 4}, {"c": 5, "b": 6}] + [{"a": 0}] * 3000 + [{"z": 9}])
    with caplog.at_level(logging.DEBUG, logger="airflow_export"):
        names, batches = collect(rows, batch_size=1000)
    assert names == ["a", "b", "c", "z"]
    flat = [r for b in batches for r in b]
    assert flat[:4] == [(1, None, None, None), (3, 2, None, None), (4, None, None, None), (None, 6, 5, None)]
    assert flat[-1] == (None, None, None, 9)  # the key first seen in the very last row is a column
    assert len(flat) == 3005 and caplog.records == []


def gen(rows):
    yield from rows


def test_streamed_rows_take_the_union_of_the_keys_in_the_window():
    rows = [{"a": 1}, {"a": 2}, {"b": 3, "a": 4}, {"a": 5}]
    assert collect(gen(rows), batch_size=2, key_window=3) == (
        ["a", "b"], [[(1, None), (2, None)], [(4, 3), (5, None)]]
    )


def test_streamed_row_with_a_key_after_the_window_is_an_error_naming_row_key_and_columns():
    rows = [{"a": 1}, {"a": 2, "b": 0}, {"a": 3}, {"b": 4}, {"a": 5, "new": 6}]
    names, batches = iter_batches(gen(rows), batch_size=10, key_window=2)
    assert names == ["a", "b"]
    with pytest.raises(ValueError) as info:
        list(batches)
    assert str(info.value) == (
        "row 5: key 'new' not among the columns ['a', 'b'], which are the keys of the first 2 rows of a streamed "
        "input; pass columns=[...] naming every column to export (keys not named are then left out)"
    )


def test_the_default_window_is_1000_rows():
    rows = [{"a": i} for i in range(999)] + [{"a": 0, "k1000": 1}]
    names, batches = iter_batches(gen(rows + [{"a": 1}]), batch_size=300)
    assert names == ["a", "k1000"] and sum(map(len, batches)) == 1001
    names, batches = iter_batches(gen(rows + [{"k1001": 1}]), batch_size=300)
    with pytest.raises(ValueError, match=r"^row 1001: key 'k1001' not among the columns \['a', 'k1000'\], which "
                                         r"are the keys of the first 1000 rows"):
        list(batches)


def test_the_window_is_read_ahead_and_no_further():
    pulled = []

    def source():
        for i in range(20):
            pulled.append(i)
            yield {"a": i}

    names, batches = iter_batches(source(), batch_size=2, key_window=5)
    assert names == ["a"] and len(pulled) == 5
    assert next(batches) == [(0,), (1,)] and len(pulled) == 5
    assert [r for b in batches for r in b][-1] == (19,)


def test_given_columns_select_and_order_and_leave_other_keys_out_without_a_log(caplog):
    rows = [{"a": 1, "b": 2}, {"a": 3, "x": 9}, {"y": 8}]
    with caplog.at_level(logging.DEBUG, logger="airflow_export"):
        for source in (rows, gen(rows)):
            assert collect(source, ["b", "a"], key_window=1) == (["b", "a"], [[(2, 1), (None, 3), (None, None)]])
    assert caplog.records == []


def test_missing_keys_do_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="airflow_export"):
        out = collect([{"a": 1, "b": 2}, {"a": 3}])
    assert out == (["a", "b"], [[(1, 2), (3, None)]])
    assert caplog.records == []


def test_extra_keys_error_names_row_and_keys():
    rows = [{"a": 1}, {"a": 2, "q": 1, "r": 2}]
    with pytest.raises(ValueError) as info:
        list(iter_batches(rows, ["a"], extra_keys="error")[1])
    assert str(info.value) == "row 2: keys ['q', 'r'] are not among the columns ['a']"


def test_same_width_but_different_keys_is_detected():
    # Same number of keys as columns, one missing and one extra: not the fast path.
    out = collect([{"a": 1, "b": 2}, {"a": 3, "c": 4}], ["a", "b"])
    assert out == (["a", "b"], [[(1, 2), (3, None)]])
    with pytest.raises(ValueError, match="^row 2: key 'c' not among the columns"):
        collect(gen([{"a": 1, "b": 2}, {"a": 3, "c": 4}]), key_window=1)


def test_duplicate_columns_with_mappings():
    out = collect([{"a": 1, "b": 2}], ["a", "a"])
    assert out == (["a", "a"], [[(1, 1)]])


def test_lazy_consumption_holds_one_batch():
    pulled = []

    def gen():
        for i in range(10):
            pulled.append(i)
            yield (i,)

    names, batches = iter_batches(gen(), batch_size=4)
    assert pulled == [0]  # only the first row, to learn the width
    first = next(batches)
    assert [r[0] for r in first] == [0, 1, 2, 3]
    assert pulled == [0, 1, 2, 3]
    next(batches)
    assert pulled == list(range(8))


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "10"])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        iter_batches([(1,)], batch_size=batch_size)


@pytest.mark.parametrize("key_window", [0, -1, 1.5, True, None])
def test_bad_key_window(key_window):
    with pytest.raises(ValueError, match="key_window must be an int >= 1"):
        iter_batches([{"a": 1}], key_window=key_window)


def test_bad_extra_keys_mode():
    with pytest.raises(ValueError, match=r"extra_keys must be one of \('ignore', 'error'\), got 'warn'"):
        iter_batches([{"a": 1}], extra_keys="warn")


def test_string_instead_of_rows_or_columns():
    with pytest.raises(TypeError, match="rows must be an iterable of rows, got str"):
        iter_batches("abc")
    with pytest.raises(TypeError, match="columns must be a sequence of names, got str 'ab'"):
        iter_batches([(1, 2)], "ab")


def test_iter_rows_flattens():
    _, batches = iter_batches([(i,) for i in range(5)], batch_size=2)
    assert list(iter_rows(batches)) == [(0,), (1,), (2,), (3,), (4,)]


@pytest.mark.parametrize(("rows", "columns", "message"), [
    ([(), ()], None, "row 1: a row has no fields; there is no column to write"),
    ([{}, {}], None, "row 1: no column to write: columns is empty, or no mapping row has a key"),
    (iter([{}, {"a": 1}]), None, None),
    ([{"a": 1}], [], "row 1: no column to write: columns is empty, or no mapping row has a key"),
])
def test_rows_without_any_column_are_refused(rows, columns, message):
    if message is None:  # a later row in the window has a key
        assert collect(rows, columns, 10) == (["a"], [[(None,), (1,)]])
        return
    with pytest.raises(ValueError, match=message):
        iter_batches(rows, columns, 10)


def test_sqlite_rows_name_their_columns():
    import sqlite3

    con = sqlite3.connect(":memory:")
    con.row_factory = sqlite3.Row
    con.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    con.execute("INSERT INTO t VALUES (1, 'a')")
    names, batches = iter_batches(con.execute("SELECT id, name AS label FROM t"), None, 10)
    assert names == ["id", "label"] and [tuple(r) for b in batches for r in b] == [(1, "a")]
