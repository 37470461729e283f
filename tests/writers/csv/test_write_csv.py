"""write_csv: every file is read back with csv.reader (or gzip) and compared cell by cell."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import logging
import os
import tracemalloc
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from airflow_export.writers.csv import write_csv
from airflow_export.writers.frame import ExportResult
from tests.writers.support import SIGNED_TEXT_CASES, leftovers, parse_copy_csv, read_bytes, read_csv

# ---------------------------------------------------------------- values and quoting


TZ = timezone(timedelta(hours=-5))
VALUE_ROW = (
    None, "", "text", True, False, 0, -5, 2**70, 0.1, -2.5, 1e-7, float("nan"), float("inf"), float("-inf"),
    Decimal("1E-7"), Decimal("1E+3"), Decimal("-12.50"), datetime(2013, 1, 1, 5, 15),
    datetime(2013, 1, 1, 5, 15, tzinfo=TZ),
    date(2013, 12, 31), time(7, 30), timedelta(hours=1, minutes=2, seconds=3), b"\x00\xab", bytearray(b"\x01"),
    uuid.UUID(int=255), {"a": 1, "b": [True, None]}, [1, "x"],
)
VALUE_TEXT = [
    "", "", "text", "true", "false", "0", "-5", "1180591620717411303424", "0.1", "-2.5", "1e-07", "NaN", "inf", "-inf",
    "0.0000001", "1000", "-12.50", "2013-01-01T05:15:00", "2013-01-01T05:15:00-05:00",
    "2013-12-31", "07:30:00", "PT1H2M3S", "00ab", "01",
    "00000000-0000-0000-0000-0000000000ff", '{"a":1,"b":[true,null]}', '[1,"x"]',
]
VALUE_COLUMNS = [f"c{i}" for i in range(len(VALUE_ROW))]


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_every_type_reads_back_as_its_text_form(tmp_path, chunk_size):
    path = tmp_path / "values.csv"
    result = write_csv([VALUE_ROW, VALUE_ROW, VALUE_ROW], path, columns=VALUE_COLUMNS, chunk_size=chunk_size)
    assert read_csv(path) == [VALUE_COLUMNS, VALUE_TEXT, VALUE_TEXT, VALUE_TEXT]
    assert result.records == 3


def test_exact_bytes_default_dialect(tmp_path):
    path = tmp_path / "x.csv"
    write_csv([(1, "a,b", None, 1.5), (2, 'say "hi"', "", -0.5)], path, columns=["id", "text", "n", "f"])
    # None: unquoted empty field; "": quoted empty field (PostgreSQL's COPY CSV convention).
    assert read_bytes(path) == b'id,text,n,f\r\n1,"a,b",,1.5\r\n2,"say ""hi""","",-0.5\r\n'


NASTY = [
    "a,b", '"q"', 'x"y', "\r\n", "line1\nline2", "cr\ronly", "a\x00b", "tab\tinside", " padded ", "東京",
    "emoji 🚀🎉", "Ελληνικά", "semi;colon", "pipe|bar", "it's", "", ",", '"', "'", "\\", "a\u2028b",
]


@pytest.mark.parametrize("lineterminator", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("quoting", ["minimal", "all", "nonnumeric"])
@pytest.mark.parametrize(("delimiter", "quotechar"), [(",", '"'), (";", '"'), ("\t", '"'), ("|", "'")])
def test_nasty_fields_round_trip(tmp_path, lineterminator, quoting, delimiter, quotechar):
    rows = [(i, text, text + text) for i, text in enumerate(NASTY)]
    path = tmp_path / "nasty.csv"
    write_csv(rows, path, columns=["i", "a", "b"], lineterminator=lineterminator, quoting=quoting,
              delimiter=delimiter, quotechar=quotechar, formula_guard=False, chunk_size=4)
    back = read_csv(path, delimiter=delimiter, quotechar=quotechar)
    assert back == [["i", "a", "b"]] + [[str(i), t, t + t] for i, t in enumerate(NASTY)]


def test_line_break_not_in_terminator_is_quoted(tmp_path):
    # Python 3.11's csv does not quote a bare CR when the terminator is "\n"; we must.
    path = tmp_path / "lf.csv"
    write_csv([(1, "a\rb"), (2, "plain")], path, columns=["n", "s"], lineterminator="\n")
    assert read_bytes(path) == b'n,s\n"1","a\rb"\n2,plain\n'
    assert read_csv(path) == [["n", "s"], ["1", "a\rb"], ["2", "plain"]]


@pytest.mark.parametrize(
    ("quoting", "expected"),
    [
        ("minimal", b'a,b,c,d\r\n1,x,,1.5\r\n'),
        # None stays an unquoted empty field even where everything else is quoted.
        ("all", b'"a","b","c","d"\r\n"1","x",,"1.5"\r\n'),
        ("nonnumeric", b'"a","b","c","d"\r\n1,"x",,1.5\r\n'),
        (csv.QUOTE_MINIMAL, b'a,b,c,d\r\n1,x,,1.5\r\n'),
        (csv.QUOTE_ALL, b'"a","b","c","d"\r\n"1","x",,"1.5"\r\n'),
        (csv.QUOTE_NONNUMERIC, b'"a","b","c","d"\r\n1,"x",,1.5\r\n'),
        ("ALL", b'"a","b","c","d"\r\n"1","x",,"1.5"\r\n'),
    ],
)
def test_quoting_modes_exact_bytes(tmp_path, quoting, expected):
    path = tmp_path / "q.csv"
    write_csv([(1, "x", None, 1.5)], path, columns=list("abcd"), quoting=quoting)
    assert read_bytes(path) == expected


@pytest.mark.parametrize("quoting", ["none", csv.QUOTE_NONE])
def test_quoting_none_with_a_null_marker_exact_bytes(tmp_path, quoting):
    path = tmp_path / "q.csv"
    write_csv([(1, "x", None, 1.5, "")], path, columns=list("abcde"), quoting=quoting, null_marker=r"\N")
    assert read_bytes(path) == b"a,b,c,d,e\r\n1,x,\\N,1.5,\r\n"
    assert read_csv(path) == [list("abcde"), ["1", "x", "\\N", "1.5", ""]]


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
@pytest.mark.parametrize("width", [1, 3])
def test_quoting_none_refuses_a_text_equal_to_the_null_marker(tmp_path, chunk_size, width):
    path = tmp_path / "x.csv"
    columns = ["a", "b", "c"][:width]
    rows = [tuple(["v"] * width), tuple([None] * width), tuple(["v"] * (width - 1) + ["NULL"]),
            tuple(["NULL"] * width)]
    with pytest.raises(ValueError) as info:
        write_csv(rows, path, columns=columns, quoting="none", null_marker="NULL", chunk_size=chunk_size)
    assert str(info.value) == (
        f"row 3, column {columns[-1]!r}: text 'NULL' equals the null marker and cannot be told from a null with "
        "quoting='none' (it cannot be quoted); use quoting='minimal' or a null_marker that does not occur in the data"
    )
    assert os.listdir(tmp_path) == []


def test_nonnumeric_reads_back_numbers_as_floats(tmp_path):
    path = tmp_path / "nn.csv"
    write_csv([(1, Decimal("2.50"), float("nan"), "x", True)], path, columns=list("abcde"), quoting="nonnumeric")
    assert read_bytes(path) == b'"a","b","c","d","e"\r\n1,2.50,NaN,"x","true"\r\n'
    back = read_csv(path, quoting=csv.QUOTE_NONNUMERIC)
    assert back[1][:2] == [1.0, 2.5] and back[1][2] != back[1][2] and back[1][3:] == ["x", "true"]


@pytest.mark.parametrize(
    ("value", "column", "message"),
    [
        ("a,b", "s", "row 2, column 's': value 'a,b' cannot be written with quoting='none'"),
        ('q"', "s", "row 2, column 's': value 'q\"' cannot be written with quoting='none'"),
        ("x\r\ny", "s", "row 2, column 's': value 'x\\r\\ny' cannot be written with quoting='none'"),
    ],
)
def test_quoting_none_rejects_fields_that_need_quotes(tmp_path, value, column, message):
    path = tmp_path / "none.csv"
    with pytest.raises(ValueError) as info:
        write_csv([(1, "ok"), (2, value)], path, columns=["n", "s"], quoting="none", null_marker=r"\N")
    assert str(info.value).startswith(message)
    assert not path.exists() and leftovers(tmp_path) == []


def test_quoting_none_rejects_stray_line_break(tmp_path):
    path = tmp_path / "none.csv"
    with pytest.raises(ValueError, match=r"^row 1, column 's': a line break cannot be written with quoting='none'"):
        write_csv([(1, "a\rb")], path, columns=["n", "s"], quoting="none", lineterminator="\n", null_marker=r"\N")
    assert not path.exists()


# ---------------------------------------------------------------- nulls and the formula guard


@pytest.mark.parametrize(
    ("null_marker", "quoting", "expected"),
    [
        # The expectations of the writer before the PostgreSQL convention: Python's csv rules.
        ("", "minimal", b"a,b,c\r\n,,0\r\n"),
        ("NULL", "minimal", b"a,b,c\r\nNULL,,0\r\n"),
        (r"\N", "minimal", b"a,b,c\r\n\\N,,0\r\n"),
        ("NULL", "all", b'"a","b","c"\r\n"NULL","","0"\r\n'),
        ("", "all", b'"a","b","c"\r\n"","","0"\r\n'),
    ],
)
def test_none_versus_empty_string_with_empty_string_empty(tmp_path, null_marker, quoting, expected):
    path = tmp_path / "n.csv"
    write_csv([(None, "", 0)], path, columns=list("abc"), null_marker=null_marker, quoting=quoting,
              empty_string="empty")
    assert read_bytes(path) == expected


def test_null_marker_in_every_column_kind(tmp_path):
    path = tmp_path / "n.csv"
    rows = [(None, None, None, None, False), (1, 1.5, "s", Decimal(1), None)]
    write_csv(rows, path, columns=list("abcde"), null_marker="-")
    # The marker is not guarded: it is configuration, not data.
    assert read_csv(path)[1:] == [["-", "-", "-", "-", "false"], ["1", "1.5", "s", "1", "-"]]


@pytest.mark.parametrize(
    ("value", "guarded"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        *SIGNED_TEXT_CASES,
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (" -1", " -1"),
        ("", ""),
        (-5, "-5"),
        (-1.5, "-1.5"),
        (Decimal("-3"), "-3"),
        (timedelta(hours=-1), "-PT1H"),
        (float("-inf"), "-inf"),
    ],
)
def test_formula_guard(tmp_path, value, guarded):
    on, off = tmp_path / "on.csv", tmp_path / "off.csv"
    write_csv([(value, None), (None, value)], on, columns=["a", "b"])
    write_csv([(value, None), (None, value)], off, columns=["a", "b"], formula_guard=False)
    assert read_csv(on)[1:] == [[guarded, ""], ["", guarded]]
    plain = value if isinstance(value, str) else guarded
    assert read_csv(off)[1:] == [[plain, ""], ["", plain]]


def test_formula_guard_applies_to_header_names(tmp_path):
    path = tmp_path / "h.csv"
    write_csv([{"=cmd": 1, "ok": 2}], path)
    assert read_csv(path) == [["'=cmd", "ok"], ["1", "2"]]


def test_formula_guard_in_mixed_type_column(tmp_path):
    path = tmp_path / "m.csv"
    write_csv([("=a",), (-1,), ("-b",), (None,), (True,)], path, columns=["x"])
    # One column: the None row is an empty line, which csv.reader reads as [].
    assert read_bytes(path) == b"x\r\n'=a\r\n-1\r\n'-b\r\n\r\ntrue\r\n"
    assert read_csv(path) == [["x"], ["'=a"], ["-1"], ["'-b"], [], ["true"]]


# ---------------------------------------------------------------- rows: mappings, widths, errors


def test_mappings_with_differing_keys(tmp_path, caplog):
    rows = [{"a": 1, "b": 2}, {"b": 3}, {"a": 4, "b": 5, "zz": 6}, {"a": 7, "b": 8, "yy": 0}]
    path = tmp_path / "m.csv"
    with caplog.at_level(logging.WARNING, logger="airflow_export"):
        result = write_csv(rows, path, chunk_size=2)
    assert read_csv(path) == [
        ["a", "b", "zz", "yy"], ["1", "2", "", ""], ["", "3", "", ""], ["4", "5", "6", ""], ["7", "8", "", "0"]
    ]
    assert result.records == 4
    assert [r for r in caplog.records if r.name == "airflow_export"] == []


def test_mappings_with_given_columns(tmp_path):
    path = tmp_path / "m.csv"
    write_csv([{"a": 1, "b": 2}], path, columns=["b", "a", "c"])
    assert read_csv(path) == [["b", "a", "c"], ["2", "1", ""]]


def test_default_column_names_for_sequences(tmp_path):
    path = tmp_path / "d.csv"
    write_csv([(1, 2, 3)], path)
    assert read_csv(path) == [["col_1", "col_2", "col_3"], ["1", "2", "3"]]


def _deep_list(depth):
    top = current = []
    for _ in range(depth):
        current.append([])
        current = current[0]
    return top


def _self_referencing_dict():
    value = {"a": 1}
    value["me"] = value
    return value


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: _deep_list(5000), "row 7, column 'payload': cannot render value of type list "
                                   "(nested deeper than the recursion limit of {limit} levels)"),
        (_self_referencing_dict, "row 7, column 'payload': cannot render value of type dict "
                                 "(it contains itself: a circular reference)"),
        (lambda: [1, _self_referencing_dict()], "row 7, column 'payload': cannot render value of type list "
                                                "(it contains itself: a circular reference)"),
        (lambda: {(1, 2): 2}, "row 7, column 'payload': cannot render value of type dict "
                              "(JSON keys must be str, int, float, bool or None, not tuple)"),
        (lambda: [float("nan"), {"x": object()}], "row 7, column 'payload': cannot render value of type object"),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 4, 1000])
def test_bad_nested_values_name_row_and_column(tmp_path, make, message, chunk_size):
    """A dict/list JSON cannot hold fails like every other bad value: UnrenderableValueError
    (a TypeError) naming row and column, no file left; not a bare RecursionError/ValueError."""
    import sys

    from airflow_export.writers.values import UnrenderableValueError

    path = tmp_path / "n.csv"
    rows = [(i, {"ok": [i, None]}) for i in range(1, 7)] + [(7, make()), (8, [1])]
    with pytest.raises(UnrenderableValueError) as info:
        write_csv(rows, path, columns=["id", "payload"], chunk_size=chunk_size)
    assert str(info.value) == message.format(limit=sys.getrecursionlimit())
    assert isinstance(info.value, TypeError) and (info.value.row, info.value.column) == (7, "payload")
    assert os.listdir(tmp_path) == []


def test_nested_non_finite_floats_are_valid_json_strings(tmp_path):
    """Top level NaN/inf are written NaN/inf/-inf; nested in a dict/list they are the same
    texts as JSON strings, so every JSON cell parses with a strict JSON parser."""
    import json

    def strict(text):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))

    path = tmp_path / "j.csv"
    nan, inf = float("nan"), float("inf")
    rows = [
        (nan, [nan, inf, -inf, 1.5]),
        (inf, {"a": nan, "b": [{"c": -inf}], nan: 1, inf: 2, 0.5: 3}),
        (-inf, [1, (2.0, nan)]),  # a nested tuple is a JSON array
        (1.0, [Decimal("NaN"), Decimal("-Infinity"), 0.1]),
    ]
    write_csv(rows, path, columns=["x", "payload"], quoting="all")
    back = read_csv(path)
    assert back[0] == ["x", "payload"]
    assert [r[0] for r in back[1:]] == ["NaN", "inf", "-inf", "1.0"]
    assert [r[1] for r in back[1:]] == [
        '["NaN","inf","-inf",1.5]',
        '{"a":"NaN","b":[{"c":"-inf"}],"NaN":1,"inf":2,"0.5":3}',
        '[1,[2.0,"NaN"]]',
        '["NaN","-inf",0.1]',
    ]
    assert [strict(r[1]) for r in back[1:]] == [
        ["NaN", "inf", "-inf", 1.5],
        {"a": "NaN", "b": [{"c": "-inf"}], "NaN": 1, "inf": 2, "0.5": 3},
        [1, [2.0, "NaN"]],
        ["NaN", "-inf", 0.1],
    ]


def test_wrong_field_count_names_row_and_leaves_no_file(tmp_path):
    path = tmp_path / "w.csv"
    rows = [(i, i) for i in range(2500)] + [(1, 2, 3)]
    with pytest.raises(ValueError) as info:
        write_csv(rows, path, columns=["a", "b"])
    assert str(info.value) == "row 2501: expected 2 fields, got 3"
    assert not path.exists() and leftovers(tmp_path) == []


def test_unrenderable_value_names_row_and_column_and_leaves_no_file(tmp_path):
    path = tmp_path / "u.csv"
    rows = [(i, float(i)) for i in range(16)] + [(16, object())]
    with pytest.raises(TypeError) as info:
        write_csv(rows, path, columns=["id", "price"], chunk_size=5)
    assert str(info.value) == "row 17, column 'price': cannot render value of type object"
    assert os.listdir(tmp_path) == []


def test_failing_source_leaves_no_file(tmp_path):
    def rows():
        yield from ((i,) for i in range(3000))
        raise ConnectionError("database went away")

    path = tmp_path / "src.csv.gz"
    with pytest.raises(ConnectionError, match="database went away"):
        write_csv(rows(), path, columns=["a"])
    assert os.listdir(tmp_path) == []


def test_unencodable_character_names_row_and_column(tmp_path):
    path = tmp_path / "l.csv"
    with pytest.raises(ValueError) as info:
        write_csv([("abc", "é"), ("x", "東")], path, columns=["a", "b"], encoding="latin-1")
    assert str(info.value) == "row 2, column 'b': character '東' cannot be encoded in iso8859-1"
    assert not path.exists()


# ---------------------------------------------------------------- encodings, BOM, gzip


def test_latin1(tmp_path):
    path = tmp_path / "l.csv"
    write_csv([("é", "ß")], path, columns=["a", "b"], encoding="latin-1")
    assert read_bytes(path) == b"a,b\r\n\xe9,\xdf\r\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "prefix", "decode"),
    [
        ("utf-8", True, codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-8", False, b"", "utf-8"),
        ("utf-8", None, b"", "utf-8"),
        ("utf-8-sig", None, codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-8-sig", True, codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16", None, codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16", True, codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-32", None, codecs.BOM_UTF32_LE, "utf-32"),
        ("utf-16-le", False, b"", "utf-16-le"),
        ("utf-16-le", None, b"", "utf-16-le"),
        ("utf-16-be", False, b"", "utf-16-be"),
        ("utf-32-le", False, b"", "utf-32-le"),
        ("utf-16-le", True, codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", True, codecs.BOM_UTF16_BE, "utf-16"),
    ],
)
def test_encodings_and_bom_once(tmp_path, encoding, bom, prefix, decode):
    path = tmp_path / "e.csv"
    write_csv([("東京", 1)] * 3, path, columns=["city", "n"], encoding=encoding, bom=bom, chunk_size=1)
    data = read_bytes(path)
    assert data.startswith(prefix)
    if prefix:
        assert data.count(prefix) == 1
    else:
        assert "\ufeff".encode(decode) not in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert read_csv(path, encoding=decode) == [["city", "n"], ["東京", "1"], ["東京", "1"], ["東京", "1"]]


def test_bom_once_per_file_when_rolling(tmp_path):
    path = tmp_path / "b.csv"
    result = write_csv([(i,) for i in range(5)], path, columns=["n"], bom=True, max_rows_per_file=2, chunk_size=1)
    assert len(result.files) == 3
    for file in result.files:
        data = read_bytes(file.path)
        assert data.startswith(codecs.BOM_UTF8) and data.count(codecs.BOM_UTF8) == 1
        assert data[3:].startswith(b"n\r\n")


def test_gzip_inferred_from_suffix_reads_back(tmp_path):
    path = tmp_path / "g.csv.gz"
    result = write_csv([(i, f"r{i}") for i in range(3000)], path, columns=["i", "s"])
    raw = read_bytes(path)
    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert read_csv(path) == [["i", "s"]] + [[str(i), f"r{i}"] for i in range(3000)]
    assert result.bytes == len(raw)


def test_gzip_explicit_without_suffix(tmp_path):
    path = tmp_path / "g.data"
    write_csv([(1,)], path, columns=["a"], compression="gzip")
    assert gzip.decompress(read_bytes(path)) == b"a\r\n1\r\n"


def test_output_is_byte_identical_across_runs(tmp_path):
    rows = [(i, i / 3, f"name {i}", None, datetime(2020, 1, 1) + timedelta(minutes=i)) for i in range(2000)]
    for name in ("one.csv", "one.csv.gz"):
        first = write_csv(rows, tmp_path / "a" / name, columns=list("abcde"))
        second = write_csv(rows, tmp_path / "b" / name, columns=list("abcde"))
        assert read_bytes(first.path) == read_bytes(second.path)
        assert first.sha256 == second.sha256


# ---------------------------------------------------------------- rolling


@pytest.mark.parametrize(("max_bytes", "chunk_size"), [(64, 1000), (64, 1), (200, 7), (1000, 3)])
def test_rolling_by_bytes(tmp_path, max_bytes, chunk_size):
    rows = [(i, "x" * (i % 13)) for i in range(200)]
    path = tmp_path / "b.csv.gz"
    result = write_csv(rows, path, columns=["i", "text"], max_bytes_per_file=max_bytes, chunk_size=chunk_size)
    assert len(result.files) > 1
    seen = []
    for file in result.files:
        with gzip.open(file.path, "rb") as fh:
            data = fh.read()
        assert len(data) <= max_bytes  # uncompressed bytes, header included
        back = read_csv(file.path)
        assert back[0] == ["i", "text"] and len(back) > 1
        assert file.records == len(back) - 1
        seen += back[1:]
    assert seen == [[str(i), "x" * (i % 13)] for i in range(200)]
    assert result.records == 200 == sum(f.records for f in result.files)


def test_rolling_by_bytes_is_greedy(tmp_path):
    # header "n\r\n" is 3 bytes, each row "k\r\n" is 3 bytes: 12 bytes hold header + 3 rows.
    result = write_csv([(i,) for i in range(7)], tmp_path / "g.csv", columns=["n"], max_bytes_per_file=12)
    assert [f.records for f in result.files] == [3, 3, 1]
    assert [f.bytes for f in result.files] == [12, 12, 6]


def test_row_larger_than_byte_limit_goes_alone(tmp_path):
    rows = [("a",), ("y" * 50,), ("b",)]
    result = write_csv(rows, tmp_path / "big.csv", columns=["s"], max_bytes_per_file=10)
    assert [read_csv(f.path) for f in result.files] == [[["s"], ["a"]], [["s"], ["y" * 50]], [["s"], ["b"]]]


def test_rolling_by_rows_and_bytes(tmp_path):
    result = write_csv([(i,) for i in range(10)], tmp_path / "rb.csv", columns=["n"],
                       max_rows_per_file=2, max_bytes_per_file=1000)
    assert [f.records for f in result.files] == [2] * 5


# ---------------------------------------------------------------- empty input, header, overwrite, progress


def test_header_false(tmp_path):
    path = tmp_path / "h.csv"
    write_csv([(1, 2)], path, columns=["a", "b"], header=False)
    assert read_bytes(path) == b"1,2\r\n"


def test_overwrite_true_replaces(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("existing")
    write_csv([(1,)], path, columns=["a"])
    assert read_bytes(path) == b"a\r\n1\r\n"


def test_progress_after_every_chunk(tmp_path):
    calls = []
    write_csv(((i,) for i in range(2500)), tmp_path / "p.csv", columns=["a"], chunk_size=1000, progress=calls.append)
    assert calls == [1000, 2000, 2500]


def test_rows_are_consumed_lazily(tmp_path):
    taken = []

    def rows():
        for i in range(5000):
            taken.append(i)
            yield (i,)

    def progress(done):
        assert len(taken) <= done + 1  # never more than the next row read ahead

    write_csv(rows(), tmp_path / "l.csv", columns=["a"], chunk_size=100, progress=progress)
    assert len(taken) == 5000


def test_chunk_size_does_not_change_the_output(tmp_path):
    rows = [(i, f"=x{i}" if i % 7 == 0 else f"s{i}", None if i % 5 == 0 else i / 4,
             float("nan") if i % 11 == 0 else 1.0)
            for i in range(300)]
    outputs = {read_bytes(write_csv(rows, tmp_path / f"c{n}.csv", columns=list("abcd"), chunk_size=n).path)
               for n in (1, 7, 64, 1000)}
    assert len(outputs) == 1


# ---------------------------------------------------------------- result, memory


def test_result_fields(tmp_path):
    path = tmp_path / "sub" / "dir" / "r.csv"
    result = write_csv([(1, "a"), (2, "b")], path, columns=["n", "s"])
    assert isinstance(result, ExportResult)
    assert result.path == str(path) and result.format == "csv" and result.records == 2
    assert result.bytes == os.path.getsize(path) == 15
    assert result.sha256 == hashlib.sha256(read_bytes(path)).hexdigest()
    assert result.duration_seconds > 0
    assert len(result.files) == 1 and result.files[0].records == 2


def test_result_fields_rolling(tmp_path):
    result = write_csv([(i,) for i in range(5)], tmp_path / "r.csv.gz", columns=["n"], max_rows_per_file=2)
    assert result.bytes == sum(os.path.getsize(f.path) for f in result.files)
    for file in result.files:
        assert file.sha256 == hashlib.sha256(read_bytes(file.path)).hexdigest()
        assert file.bytes == os.path.getsize(file.path)


def _peak_bytes(tmp_path, count):
    """Traced peak memory while streaming ``count`` rows, and at the end (commit included)."""
    # Cells whose text csv.writer does not allocate anew (strings, None, one-digit ints) keep
    # tracemalloc fast; the converting paths are covered by the tests above.
    block = [(i % 10, f"name-{i}", "x" * 20, None) for i in range(1000)]

    def rows():
        # Rows are made lazily, one block at a time; re-yielding the same small block keeps
        # tracing fast. A writer that kept rows or their text would still grow with ``count``.
        for _ in range(count // 1000):
            yield from block

    streaming = []
    tracemalloc.start()
    try:
        write_csv(rows(), tmp_path / f"m{count}.csv", columns=["i", "s", "x", "n"], chunk_size=1000,
                  progress=lambda done: streaming.append(tracemalloc.get_traced_memory()[1]))
        return max(streaming), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_row_count(tmp_path):
    small, small_total = _peak_bytes(tmp_path, 20_000)
    large, large_total = _peak_bytes(tmp_path, 200_000)
    assert os.path.getsize(tmp_path / "m200000.csv") == 6_778_009  # 200k rows really written
    # Streaming peak: one chunk of rows, its text and the 1 MiB file buffer, whatever the count.
    assert large < small * 1.1 + 32_000, (small, large)
    # At the end: gzip/fsync/rename only; the SHA-256 was taken while writing (no read-back).
    assert large_total < small_total + (1 << 20) + 64_000, (small_total, large_total)
    assert large_total < 6_000_000


# ---------------------------------------------------------------- options


def test_path_like_and_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = write_csv([(1,)], "rel.csv", columns=["a"])
    assert result.path == str(tmp_path / "rel.csv")
    assert read_csv(tmp_path / "rel.csv") == [["a"], ["1"]]


def test_header_with_stray_line_break_is_quoted(tmp_path):
    path = tmp_path / "h.csv"
    write_csv([{"a\rb": 1}], path, lineterminator="\n")
    assert read_bytes(path) == b'"a\rb"\n1\n'
    assert read_csv(path) == [["a\rb"], ["1"]]


def test_rolling_by_bytes_counts_encoded_bytes(tmp_path):
    # "é" is 2 bytes in UTF-8: header "s\r\n" (3) + rows "éé\r\n" (6 bytes, 4 characters) ...
    result = write_csv([("éé",)] * 5, tmp_path / "u.csv", columns=["s"], max_bytes_per_file=15)
    assert [f.records for f in result.files] == [2, 2, 1]
    assert [f.bytes for f in result.files] == [15, 15, 9]


def test_formula_guard_in_pure_string_column(tmp_path):
    rows = [(f"s{i}",) for i in range(999)] + [("=1+1",)]
    path = tmp_path / "g.csv"
    write_csv(rows, path, columns=["s"])
    back = read_csv(path)
    assert back[-1] == ["'=1+1"] and back[1] == ["s0"] and len(back) == 1001


# ---------------------------------------------------------------- nulls versus empty strings (PostgreSQL's COPY CSV)


@pytest.mark.parametrize(
    ("rows", "options", "expected"),
    [
        # quoting="minimal" (default): None -> nothing, "" -> "", text equal to the marker -> quoted.
        ([(None, "", "x"), ("", None, None), (None, None, None)], {},
         b'a,b,c\r\n,"",x\r\n"",,\r\n,,\r\n'),
        ([(None, "", "NULL"), ("NULL", None, "x")], {"null_marker": "NULL"},
         b'a,b,c\r\nNULL,"","NULL"\r\n"NULL",NULL,x\r\n'),
        ([(None, "", "\\N")], {"null_marker": r"\N"}, b'a,b,c\r\n\\N,"","\\N"\r\n'),
        ([(None, "", 0)], {"null_marker": "0"}, b'a,b,c\r\n0,"",0\r\n'),  # numbers are never quoted
        ([(None, "", "x")], {"lineterminator": "\n"}, b'a,b,c\n,"",x\n'),
        ([(None, "", "x")], {"delimiter": ";", "quotechar": "'"}, b"a;b;c\r\n;'';x\r\n"),
        # "all" and "nonnumeric": None is the only unquoted field (like FORCE_QUOTE *).
        ([(None, "", "x"), ("", None, None)], {"quoting": "all"},
         b'"a","b","c"\r\n,"","x"\r\n"",,\r\n'),
        ([(None, "", "NULL"), ("NULL", None, 1)], {"quoting": "all", "null_marker": "NULL"},
         b'"a","b","c"\r\nNULL,"","NULL"\r\n"NULL",NULL,"1"\r\n'),
        ([(None, "", 1.5), ("", None, None)], {"quoting": "nonnumeric"},
         b'"a","b","c"\r\n,"",1.5\r\n"",,\r\n'),
        ([(None, "", 2)], {"quoting": "nonnumeric", "null_marker": "NULL"}, b'"a","b","c"\r\nNULL,"",2\r\n'),
        # "none" cannot quote: "" is an empty field, so a null needs a non-empty marker (else an
        # option error) and a marker-equal text is an error (tests above).
        ([(None, "", "x"), ("", None, None)], {"quoting": "none", "null_marker": "NULL"},
         b"a,b,c\r\nNULL,,x\r\n,NULL,NULL\r\n"),
        # No header.
        ([(None, "", "x")], {"header": False}, b',"",x\r\n'),
        ([(None, None, None)], {"header": False}, b",,\r\n"),
        # empty_string="empty": Python's csv rules, "" and None alike.
        ([(None, "", "x")], {"empty_string": "empty"}, b"a,b,c\r\n,,x\r\n"),
        ([(None, "", "x")], {"empty_string": "empty", "quoting": "all"}, b'"a","b","c"\r\n"","","x"\r\n'),
        ([(None, "", 1)], {"empty_string": "empty", "quoting": "nonnumeric"}, b'"a","b","c"\r\n"","",1\r\n'),
    ],
)
def test_null_versus_empty_string_exact_bytes(tmp_path, rows, options, expected):
    path = tmp_path / "n.csv"
    result = write_csv(rows, path, columns=list("abc"), **options)
    assert read_bytes(path) == expected
    assert result.records == len(rows)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # One column: a null is an empty line (as PostgreSQL writes it), "" the line "".
        ({}, b'a\r\n\r\n""\r\nx\r\n\r\n'),
        ({"header": False}, b'\r\n""\r\nx\r\n\r\n'),
        ({"lineterminator": "\n"}, b'a\n\n""\nx\n\n'),
        ({"quoting": "all"}, b'"a"\r\n\r\n""\r\n"x"\r\n\r\n'),
        ({"quoting": "nonnumeric"}, b'"a"\r\n\r\n""\r\n"x"\r\n\r\n'),
        # csv alone refuses a record of one empty field
        ({"quoting": "none", "null_marker": "NULL"}, b"a\r\nNULL\r\n\r\nx\r\nNULL\r\n"),
        ({"null_marker": "NULL"}, b'a\r\nNULL\r\n""\r\nx\r\nNULL\r\n'),
        ({"null_marker": "NULL", "quoting": "all"}, b'"a"\r\nNULL\r\n""\r\n"x"\r\nNULL\r\n'),
        ({"empty_string": "empty"}, b'a\r\n""\r\n""\r\nx\r\n""\r\n'),  # Python's csv: both ""
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 1000])
def test_single_column_null_and_empty_string(tmp_path, options, expected, chunk_size):
    path = tmp_path / "one.csv"
    write_csv([(None,), ("",), ("x",), (None,)], path, columns=["a"], chunk_size=chunk_size, **options)
    assert read_bytes(path) == expected


def test_single_column_quoting_none_marker_equal_text(tmp_path):
    path = tmp_path / "one.csv"
    with pytest.raises(ValueError, match=r"^row 2, column 'a': text 'NULL' equals the null marker and cannot be told "
                                         r"from a null with quoting='none'"):
        write_csv([(None,), ("NULL",)], path, columns=["a"], quoting="none", null_marker="NULL")
    assert os.listdir(tmp_path) == []


def test_empty_string_empty_with_quoting_none_single_column_is_an_error(tmp_path):
    path = tmp_path / "one.csv"
    with pytest.raises(ValueError, match=r"^row 1, column 'a': a record of one empty field cannot be written with "
                                         r"quoting='none' and empty_string='empty' \(single empty field record must be "
                                         r"quoted\); use empty_string='quoted'$"):
        write_csv([(None,)], path, columns=["a"], quoting="none", empty_string="empty")
    assert os.listdir(tmp_path) == []


def test_null_versus_empty_reads_back_with_reference_parser_and_csv_reader(tmp_path):
    path = tmp_path / "r.csv"
    rows = [(None, "", "x", 1), ("", None, "", None)]
    write_csv(rows, path, columns=list("abcd"))
    data = read_bytes(path).decode()
    assert parse_copy_csv(data) == [["a", "b", "c", "d"], [None, "", "x", "1"], ["", None, "", None]]
    # csv.reader reads both as "" (it cannot tell them apart): the bytes above are the proof.
    assert read_csv(path) == [["a", "b", "c", "d"], ["", "", "x", "1"], ["", "", "", ""]]


def test_empty_bytes_is_an_empty_text_not_a_null(tmp_path):
    path = tmp_path / "b.csv"
    write_csv([(b"", None, bytearray())], path, columns=list("abc"))
    assert read_bytes(path) == b'a,b,c\r\n"",,""\r\n'


def test_stray_line_break_rows_keep_nulls_unquoted(tmp_path):
    path = tmp_path / "s.csv"
    rows = [(None, "a\rb", "", "NULL", 1), (None, "x", "", "NULL", 2)]
    write_csv(rows, path, columns=list("abcde"), lineterminator="\n", null_marker="NULL")
    assert read_bytes(path) == b'a,b,c,d,e\nNULL,"a\rb","","NULL","1"\nNULL,x,"","NULL",2\n'
    assert parse_copy_csv(read_bytes(path).decode(), lineterminator="\n", null="NULL")[1:] == [
        [None, "a\rb", "", "NULL", "1"], [None, "x", "", "NULL", "2"]]


def test_stray_line_break_rows_keep_nulls_unquoted_default_marker(tmp_path):
    path = tmp_path / "s.csv"
    write_csv([(None, "a\rb", ""), ("", None, "q")], path, columns=list("abc"), lineterminator="\n")
    assert read_bytes(path) == b'a,b,c\n,"a\rb",""\n"",,q\n'


NULL_POOL = [None, "", "x", "NULL", "\\N", "a,b", '"', '""', 'q"uote', "\x1a", '"\x1a', '"""\x1a"', "\x1c", '"\x1c',
             "\x1d", '"\x1d', "\ue000", '"\ue000', "line\nbreak", "cr\ronly", "\r\n", " ", "'", "é東", 0, -1, 2.5, True]


@pytest.mark.parametrize("quoting", ["minimal", "all", "nonnumeric"])
@pytest.mark.parametrize("null_marker", ["", "NULL", "\\N"])
@pytest.mark.parametrize("lineterminator", ["\r\n", "\n"])
@pytest.mark.parametrize("width", [1, 3])
def test_nulls_and_texts_round_trip_through_reference_parser(tmp_path, quoting, null_marker, lineterminator, width):
    import random

    rng = random.Random(f"{quoting}{null_marker}{lineterminator}{width}")
    rows = [tuple(rng.choice(NULL_POOL) for _ in range(width)) for _ in range(400)]
    columns = [f"c{i}" for i in range(width)]
    path = tmp_path / "p.csv"
    write_csv(rows, path, columns=columns, quoting=quoting, null_marker=null_marker, lineterminator=lineterminator,
              formula_guard=False, chunk_size=37)
    back = parse_copy_csv(read_bytes(path).decode(), lineterminator=lineterminator, null=null_marker)

    def text(value):
        return None if value is None else {True: "true"}.get(value, str(value)) if not isinstance(value, str) else value

    assert back == [columns] + [[text(v) for v in row] for row in rows]


def test_rolling_by_bytes_counts_the_final_text_of_nulls_and_empty_strings(tmp_path):
    # header "a,b\r\n" (5) + rows ',""\r\n' (5 bytes) and '"",\r\n' (5 bytes).
    rows = [(None, ""), ("", None)] * 3
    result = write_csv(rows, tmp_path / "r.csv", columns=["a", "b"], max_bytes_per_file=15, chunk_size=4)
    assert [f.records for f in result.files] == [2, 2, 2]
    assert [read_bytes(f.path) for f in result.files] == [b'a,b\r\n,""\r\n"",\r\n'] * 3
    assert [f.bytes for f in result.files] == [15] * 3


def test_rolling_by_rows_with_stand_ins(tmp_path):
    rows = [(None, ""), ("x", None), ("", "")]
    result = write_csv(rows, tmp_path / "r.csv.gz", columns=["a", "b"], max_rows_per_file=2, quoting="all")
    assert [gzip.decompress(read_bytes(f.path)) for f in result.files] == [
        b'"a","b"\r\n,""\r\n"x",\r\n', b'"a","b"\r\n"",""\r\n']
    for file in result.files:
        assert file.sha256 == hashlib.sha256(read_bytes(file.path)).hexdigest()


# ---------------------------------------------------------------- NaN, found in the text csv wrote


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_nan_in_float_and_none_column_in_a_later_chunk(tmp_path, chunk_size):
    rows = [(1.5, None), (2.0, 0.5), (None, 1.0), (float("nan"), float("nan")), (float("-inf"), None),
            (3.0, float("nan"))]
    path = tmp_path / "nan.csv"
    write_csv(rows, path, columns=["a", "b"], chunk_size=chunk_size)
    assert read_bytes(path) == b"a,b\r\n1.5,\r\n2.0,0.5\r\n,1.0\r\nNaN,NaN\r\n-inf,\r\n3.0,NaN\r\n"


def test_nan_after_a_word_holding_nan(tmp_path):
    # "banana" makes the chunk's text hold "nan": the chunk is redone, later chunks checked per column.
    rows = [("banana", 1.0, None), ("x", None, 2.0), ("y", float("nan"), None), ("z", 1.0, float("nan"))]
    path = tmp_path / "nan.csv"
    write_csv(rows, path, columns=list("abc"), chunk_size=1)
    assert read_bytes(path) == b"a,b,c\r\nbanana,1.0,\r\nx,,2.0\r\ny,NaN,\r\nz,1.0,NaN\r\n"


@pytest.mark.parametrize("quoting", ["minimal", "all", "nonnumeric"])
def test_nan_with_every_quoting(tmp_path, quoting):
    path = tmp_path / "nan.csv"
    write_csv([(float("nan"), None), (None, float("nan"))], path, columns=["a", "b"], quoting=quoting)
    body = read_bytes(path).split(b"\r\n", 1)[1]
    assert body == {"minimal": b"NaN,\r\n,NaN\r\n", "all": b'"NaN",\r\n,"NaN"\r\n',
                    "nonnumeric": b"NaN,\r\n,NaN\r\n"}[quoting]


# ---------------------------------------------------------------- numpy and pandas values


def test_numpy_and_pandas_values(tmp_path):
    import numpy as np  # both are in the project's environment; the writers never import them
    import pandas as pd

    row = (np.float32(0.1), np.float16(65504), np.bool_(True), np.datetime64("2013-01-01T05:15:00.5", "ns"),
           np.datetime64("NaT"), pd.NA, pd.NaT, pd.Timestamp("2020-01-01 05:00"), np.int64(-7), np.float64("nan"),
           np.float32("nan"), np.datetime64("2013-01-01", "D"))
    columns = [f"c{i}" for i in range(len(row))]
    path = tmp_path / "np.csv"
    write_csv([row, row], path, columns=columns, quoting="nonnumeric", header=False)
    line = (b'0.1,65500.0,"true","2013-01-01T05:15:00.500000",,,,"2020-01-01T05:00:00",-7,NaN,NaN,'
            b'"2013-01-01"\r\n')
    assert read_bytes(path) == line * 2
    write_csv([row], path, columns=columns, null_marker="NULL", header=False)
    assert read_bytes(path) == (b"0.1,65500.0,true,2013-01-01T05:15:00.500000,NULL,NULL,NULL,2020-01-01T05:00:00,"
                                b"-7,NaN,NaN,2013-01-01\r\n")


def test_pandas_dataframe_rows(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({
        "n": pd.array([1, None, 3], dtype="Int64"),
        "s": pd.array(["a", "", None], dtype="string"),
        "t": pd.to_datetime(["2020-01-01 00:00:00", None, "2020-01-03 04:05:06"]),
        "f": [0.5, float("nan"), None],
    })
    path = tmp_path / "df.csv"
    write_csv(frame.itertuples(index=False), path, columns=list(frame.columns))
    assert read_bytes(path) == (b'n,s,t,f\r\n1,a,2020-01-01T00:00:00,0.5\r\n,"",,NaN\r\n'
                                b"3,,2020-01-03T04:05:06,NaN\r\n")


def test_writers_import_and_write_without_numpy_or_pandas(tmp_path):
    script = (
        "import sys\n"
        "sys.modules['numpy'] = None\n"  # any import of numpy/pandas now fails
        "sys.modules['pandas'] = None\n"
        "from airflow_export.writers.csv import write_csv\n"
        "import airflow_export.writers.pdf\n"
        f"r = write_csv([(1, None, '', 0.5)], {str(tmp_path / 'x.csv')!r}, columns=list('abcd'))\n"
        "print(r.records, open(r.path, 'rb').read())\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1 b'a,b,c,d\\r\\n1,,\"\",0.5\\r\\n'\n"


def test_integers_longer_than_pythons_str_limit_are_written_in_full(tmp_path):
    import sys

    big, negative = 10**5000 + 7, -(10**6000)
    limit = sys.get_int_max_str_digits()
    path = tmp_path / "big.csv"
    write_csv([(1, big), (negative, [big])], path, columns=["a", "b"])
    rows = read_csv(path)
    assert rows[1] == ["1", str(Decimal(big))] and rows[1][1].endswith("0007") and len(rows[1][1]) == 5001
    assert rows[2][0] == "-1" + "0" * 6000 and rows[2][1] == "[" + str(Decimal(big)) + "]"
    assert sys.get_int_max_str_digits() == limit  # restored


def test_decimals_with_absurd_exponents_use_exponent_notation(tmp_path):
    path = tmp_path / "d.csv"
    values = [Decimal("1E-7"), Decimal("1E-1000000"), Decimal("-1E+999999999"), Decimal("1E-999")]
    write_csv([(v,) for v in values], path, columns=["d"])
    cells = [r[0] for r in read_csv(path)[1:]]
    assert cells[:3] == ["0.0000001", "1E-1000000", "-1E+999999999"]
    assert cells[3] == "0." + "0" * 998 + "1"  # 998 padding zeros: still fixed-point
    assert [Decimal(c) for c in cells] == values
