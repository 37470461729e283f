"""No value is dropped silently, in both writers (docs/adr/0050, 0051): mapping rows whose keys
differ, and text no file can hold (a lone UTF-16 surrogate). Values are read back (csv.reader,
pypdf)."""

from __future__ import annotations

import os

import pytest

from airflow_export.writers.encoding import UnencodableTextError
from tests.writers.pdf.reading import read
from tests.writers.test_contract import CSV, PDF, WRITERS


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


# ---------------------------------------------------------------- text no file can hold (ADR 0051)

SURROGATE_CASES = [
    pytest.param([{"id": 1, "name": "ok"}, {"id": 2, "name": "ok"}, {"id": 3, "name": "cut \ud83d"}],
                 "row 3, column 'name'", "\ud83d", id="str"),
    pytest.param([{"id": 1, "payload": {"k": ["a", "\udc00 low"]}}], "row 1, column 'payload'", "\udc00", id="json"),
    pytest.param([{"id": n, "name": "x"} for n in range(1, 75)] + [{"id": 75, "name": "\ud800"}],
                 "row 75, column 'name'", "\ud800", id="later-page"),
    pytest.param([{"id": 1, "na\ud83dme": "x"}], "header", "\ud83d", id="header"),
]


@WRITERS
@pytest.mark.parametrize(("rows", "where", "char"), SURROGATE_CASES)
def test_a_lone_surrogate_fails_naming_row_and_column_in_both_writers(tmp_path, writer, rows, where, char):
    path = tmp_path / f"s{writer.suffix}"
    with pytest.raises(UnencodableTextError) as info:
        writer.write(gen(rows), path, **{writer.batch: 50})
    target = "utf-8" if writer is CSV else "PDF text"
    assert str(info.value) == (
        f"{where}: character {char!r} cannot be encoded in {target} (a lone UTF-16 surrogate: half of a character, "
        "e.g. an emoji cut in two by the producer; nothing is replaced, fix the input)"
    )
    assert isinstance(info.value, ValueError) and os.listdir(tmp_path) == []


def test_the_first_bad_cell_row_by_row_is_named_the_same_by_both_writers(tmp_path):
    rows = [{"a": "x", "b": "y"}, {"a": "x", "b": "bad \udfff"}, {"a": "bad \ud801", "b": "y"}]
    messages = []
    for writer in (CSV, PDF):
        with pytest.raises(UnencodableTextError) as info:
            writer.write(rows, tmp_path / f"f{writer.suffix}")
        messages.append(str(info.value).replace("PDF text", "utf-8"))
    assert messages[0] == messages[1] and messages[0].startswith("row 2, column 'b': character '\\udfff'")


def test_a_lone_surrogate_in_the_pdf_title_is_named(tmp_path):
    with pytest.raises(UnencodableTextError, match=r"^title: character '\\ud83d' cannot be encoded in PDF text"):
        PDF.write([{"a": 1}], tmp_path / "t.pdf", title="Report \ud83d")
    assert os.listdir(tmp_path) == []


@WRITERS
def test_a_whole_emoji_is_written_and_read_back(tmp_path, writer):
    path = tmp_path / f"e{writer.suffix}"
    writer.write([{"id": 1, "name": "smile \U0001f600 東京"}], path)
    if writer is CSV:
        assert writer.pages(path) == [[["id", "name"], ["1", "smile \U0001f600 東京"]]]
    else:  # pypdf cannot extract characters beyond U+FFFF from ReportLab's text map (docs/formats.md, "Fonts")
        text = read(path).pages[0].extract_text()
        assert "smile" in text and "東京" in text and "\x00" not in text
