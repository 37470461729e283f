"""CsvOptions: validation of every CSV option (exact messages), defaults, resolved values."""

from __future__ import annotations

import csv
import os

import pytest

from airflow_export.writers.csv import CsvOptions, write_csv
from tests.writers.support import Tracked, read_bytes, read_csv


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"delimiter": ";;"}, ValueError, "delimiter must be one character other than CR and LF, got ';;'"),
        ({"delimiter": "\n"}, ValueError, "delimiter must be one character other than CR and LF, got '\\n'"),
        ({"quotechar": ""}, ValueError, "quotechar must be one character other than CR and LF, got ''"),
        ({"quotechar": ","}, ValueError, "delimiter and quotechar must differ, both are ','"),
        ({"quoting": "some"}, ValueError,
         "quoting must be one of ['all', 'minimal', 'none', 'nonnumeric'] or the matching csv.QUOTE_* int, got 'some'"),
        ({"quoting": 9}, ValueError, "quoting must be one of"),
        ({"quoting": True}, ValueError, "quoting must be one of"),
        ({"lineterminator": ";"}, ValueError, "lineterminator must be one of ('\\r\\n', '\\n', '\\r'), got ';'"),
        ({"header": "yes"}, ValueError, "header must be True or False, got 'yes'"),
        ({"bom": 1}, ValueError, "bom must be True, False or None, got 1"),
        ({"formula_guard": None}, ValueError, "formula_guard must be True or False, got None"),
        ({"encoding": "klingon"}, ValueError, "encoding 'klingon' is not a known Python codec"),
        ({"encoding": "rot13"}, ValueError, "encoding 'rot13' is not a text encoding"),
        ({"encoding": "latin-1", "bom": True}, ValueError,
         "bom=True needs a Unicode encoding (utf-8, utf-16, utf-32), got encoding 'latin-1'"),
        ({"compression": "zip"}, ValueError, "compression must be one of (None, 'gzip'), got 'zip'"),
        ({"null_marker": "a,b"}, ValueError,
         "null_marker 'a,b' holds the delimiter (','); a null is written unquoted, so it cannot "
         "(or use empty_string='empty')"),
        ({"null_marker": "N;", "delimiter": ";"}, ValueError, "null_marker 'N;' holds the delimiter (';')"),
        ({"null_marker": '"N"'}, ValueError, "null_marker '\"N\"' holds the quote character ('\"')"),
        ({"null_marker": "N\r"}, ValueError, "null_marker 'N\\r' holds CR ('\\r')"),
        ({"null_marker": "N\n"}, ValueError, "null_marker 'N\\n' holds LF ('\\n')"),
        ({"empty_string": "null"}, ValueError, "empty_string must be one of ('quoted', 'empty'), got 'null'"),
        ({"max_bytes_per_file": -1}, ValueError, "max_bytes_per_file must be None or an int >= 1, got -1"),
        ({"max_bytes_per_file": 1.5}, ValueError, "max_bytes_per_file must be None or an int >= 1, got 1.5"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be an int >= 1, got 0"),
        ({"chunk_size": -10}, ValueError, "chunk_size must be an int >= 1, got -10"),
        ({"chunk_size": "100"}, ValueError, "chunk_size must be an int >= 1, got '100'"),
    ],
)
def test_bad_options_are_named(tmp_path, options, error, message):
    rows = Tracked([(1,)])
    with pytest.raises(error) as info:
        write_csv(rows, tmp_path / "x.csv", columns=["a"], **options)
    assert str(info.value).startswith(message)
    assert rows.taken == 0 and os.listdir(tmp_path) == []


def test_options_defaults():
    opts = CsvOptions()
    assert (opts.delimiter, opts.quotechar, opts.quoting, opts.lineterminator) == (",", '"', csv.QUOTE_MINIMAL, "\r\n")
    assert (opts.header, opts.encoding, opts.bom, opts.compression, opts.null_marker) == (
        True, "utf-8", False, None, "")
    assert opts.empty_string == "quoted"
    assert (opts.formula_guard, opts.max_rows_per_file, opts.max_bytes_per_file, opts.overwrite, opts.progress) == (
        True, None, None, True, None)


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("utf-16", True), ("latin-1", False)])
def test_bom_option_is_stored_resolved(encoding, bom):
    assert CsvOptions(encoding=encoding).bom is (encoding == "utf-16")
    assert CsvOptions(encoding=encoding, bom=bom).bom is bom


@pytest.mark.parametrize(
    ("encoding", "instead"),
    [("utf-16", "utf-16-le"), ("UTF16", "utf-16-le"), ("utf-32", "utf-32-le"), ("utf-8-sig", "utf-8")],
)
def test_bom_false_with_an_encoding_that_always_writes_one_is_an_error(tmp_path, encoding, instead):
    """Python's utf-16/utf-32/utf-8-sig codecs always start with a BOM: bom=False would be
    silently ignored, so it is refused before any row is read, naming the BOM-less codec."""
    rows = Tracked([("a",)])
    with pytest.raises(ValueError) as info:
        write_csv(rows, tmp_path / "x.csv", columns=["a"], encoding=encoding, bom=False)
    assert str(info.value) == (
        f"bom=False contradicts encoding {encoding!r}, which starts every file with a byte order mark; "
        f"for no BOM name the byte order, e.g. encoding={instead!r}"
    )
    assert rows.taken == 0 and os.listdir(tmp_path) == []


@pytest.mark.parametrize("quoting", ["none", csv.QUOTE_NONE])
def test_quoting_none_with_empty_string_quoted_needs_a_null_marker(tmp_path, quoting):
    """"none" cannot write "" quoted: with null_marker="" a null and "" would be the same
    empty field, so the option check refuses it (before any row is read), naming both options."""
    rows = Tracked([(None, "")])
    with pytest.raises(ValueError) as info:
        write_csv(rows, tmp_path / "x.csv", columns=["a", "b"], quoting=quoting)
    assert str(info.value) == (
        "quoting='none' with empty_string='quoted' needs a null_marker: unquoted, an empty string and a null "
        "(null_marker='') would both be an empty field; pass null_marker (e.g. null_marker='\\N') to keep them "
        "apart, or empty_string='empty' to write both as an empty field"
    )
    assert rows.taken == 0 and os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match=r"^quoting='none' with empty_string='quoted' needs a null_marker"):
        CsvOptions(quoting=quoting, empty_string="quoted", null_marker="")
    # Either way out works and is what it says.
    write_csv([(None, "")], tmp_path / "e.csv", columns=["a", "b"], quoting=quoting, empty_string="empty")
    assert read_bytes(tmp_path / "e.csv") == b"a,b\r\n,\r\n"
    write_csv([(None, "")], tmp_path / "m.csv", columns=["a", "b"], quoting=quoting, null_marker="NULL")
    assert read_csv(tmp_path / "m.csv") == [["a", "b"], ["NULL", ""]]
