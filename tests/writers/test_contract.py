"""The contract every writer keeps, checked once for each (CSV and PDF) through the same tests:
overwrite=False fails before any row is read, no file is left on error, empty input, unknown
and bad options, and the one rolling-name rule."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_export.writers.csv import write_csv
from airflow_export.writers.frame import TEMP_SUFFIX, OutputError, OutputExistsError, OutputOutsideRootError, part_path
from airflow_export.writers.pdf import write_pdf
from tests.writers.pdf.reading import footer, read, shows, table_rows
from tests.writers.support import Tracked


def csv_files(path) -> list[list[list[str]]]:
    """Per page of a CSV file (a CSV file is one page): its records, header first."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [list(csv.reader(fh))]


def pdf_files(path) -> list[list[list[str]]]:
    """Per page of a PDF file: its table lines (header first)."""
    return [[list(line) for line in table_rows(page)] for page in read(path).pages]


@dataclass(frozen=True)
class Writer:
    name: str
    write: Callable[..., Any]
    suffix: str
    batch: str  # the keyword of the rows read at a time
    pages: Callable[[Any], list[list[list[str]]]]

    def __str__(self) -> str:
        return self.name


CSV = Writer("csv", write_csv, ".csv", "chunk_size", csv_files)
PDF = Writer("pdf", write_pdf, ".pdf", "rows_per_page", pdf_files)
WRITERS = pytest.mark.parametrize("writer", [CSV, PDF], ids=str)


def names_in(directory) -> list[str]:
    return sorted(os.listdir(directory))


# ---------------------------------------------------------------- overwrite=False


@WRITERS
def test_overwrite_false_fails_before_any_row_is_read(tmp_path, writer):
    path = tmp_path / f"o{writer.suffix}"
    path.write_bytes(b"existing")
    rows = Tracked([(1,), (2,)])
    with pytest.raises(OutputExistsError, match="already exists and overwrite=False"):
        writer.write(rows, path, columns=["a"], overwrite=False)
    assert rows.taken == 0
    assert path.read_bytes() == b"existing" and names_in(tmp_path) == [path.name]


@WRITERS
def test_overwrite_false_with_a_source_that_must_not_be_read(tmp_path, writer):
    (tmp_path / f"w{writer.suffix}").write_text("old")

    def rows():
        raise RuntimeError("a row was read")
        yield

    with pytest.raises(OutputExistsError):
        writer.write(rows(), tmp_path / f"w{writer.suffix}", overwrite=False)
    assert (tmp_path / f"w{writer.suffix}").read_text() == "old"


@WRITERS
def test_overwrite_false_checks_the_parts_of_an_earlier_run(tmp_path, writer):
    (tmp_path / f"o.part-00001{writer.suffix}").write_text("existing")
    rows = Tracked([(1,)])
    with pytest.raises(OutputError):
        writer.write(rows, tmp_path / f"o{writer.suffix}", columns=["a"], overwrite=False, max_rows_per_file=5)
    assert rows.taken == 0


# ---------------------------------------------------------------- no file left on error


@WRITERS
@pytest.mark.parametrize(
    ("rows", "max_rows", "batch", "error", "message"),
    [
        ([(1,), (2,), (3,), (object(),)], 1, 1, TypeError, "row 4, column 'col_1': cannot render value of type object"),
        ([(i,) for i in range(1, 30)] + [("a", "b")], 10, 5, ValueError, "row 30: expected 1 fields, got 2"),
        ([(i,) for i in range(1, 30)] + [(object(),)], 10, 5, TypeError, "row 30, column 'col_1': cannot render"),
    ],
)
def test_an_error_after_rolling_leaves_no_file(tmp_path, writer, rows, max_rows, batch, error, message):
    with pytest.raises(error, match=message):
        writer.write(iter(rows), tmp_path / f"x{writer.suffix}", max_rows_per_file=max_rows, **{writer.batch: batch})
    assert os.listdir(tmp_path) == []


@WRITERS
def test_an_error_keeps_the_earlier_file(tmp_path, writer):
    path = tmp_path / f"keep{writer.suffix}"
    path.write_bytes(b"old contents")
    with pytest.raises(TypeError):
        writer.write([(1,), (object(),)], path, columns=["a"])
    assert path.read_bytes() == b"old contents"
    assert [n for n in os.listdir(tmp_path) if n.endswith(TEMP_SUFFIX)] == []


# ---------------------------------------------------------------- empty input


@WRITERS
def test_empty_input_with_columns_is_one_file(tmp_path, writer):
    path = tmp_path / f"e{writer.suffix}"
    result = writer.write([], path, columns=["a", "b"])
    assert (result.records, len(result.files), result.files[0].records) == (0, 1, 0)
    assert result.path == str(path) and names_in(tmp_path) == [path.name]
    if writer is CSV:
        assert path.read_bytes() == b"a,b\r\n"
    else:
        page = read(path).pages[0]
        assert table_rows(page) == [("a", "b"), ("No rows",)]
        assert footer(page) == "Page 1 of 1"


@WRITERS
def test_empty_input_without_columns(tmp_path, writer):
    path = tmp_path / f"e{writer.suffix}"
    result = writer.write(iter(()), path)
    assert (result.records, len(result.files)) == (0, 1)
    if writer is CSV:
        assert path.read_bytes() == b"" and result.bytes == 0
        assert write_csv(iter(()), path, bom=True).bytes == 0 and path.read_bytes() == b""  # not even a BOM
    else:
        reader = read(path)
        assert len(reader.pages) == 1
        assert [t for t, _, _ in shows(reader.pages[0])] == ["No rows", "e", "0 rows", "Page 1 of 1"]


# ---------------------------------------------------------------- options


CSV_OPTIONS = ("bom, compression, delimiter, empty_string, encoding, formula_guard, header, lineterminator, "
               "max_bytes_per_file, max_rows_per_file, null_marker, overwrite, progress, quotechar, quoting")
PDF_OPTIONS = ("caption, column_widths, fallback_font_path, font_index, font_path, font_size, key_columns, landscape, "
               "max_lines_per_cell, max_rows_per_file, null_marker, overwrite, page_size, progress, run_time")


@pytest.mark.parametrize(
    ("writer", "options", "message"),
    [
        (CSV, {"delimeter": ";"},
         f"write_csv() got an unknown option 'delimeter' (did you mean 'delimiter'?); valid options: {CSV_OPTIONS}"),
        (CSV, {"sep": ";"}, f"write_csv() got an unknown option 'sep'; valid options: {CSV_OPTIONS}"),
        (PDF, {"fontsize": 8},
         f"write_pdf() got an unknown option 'fontsize' (did you mean 'font_size'?); valid options: {PDF_OPTIONS}"),
        (PDF, {"sep": ";"}, f"write_pdf() got an unknown option 'sep'; valid options: {PDF_OPTIONS}"),
    ],
    ids=str,
)
def test_an_unknown_option_is_named_with_the_closest_valid_one(tmp_path, writer, options, message):
    rows = Tracked([(1,)])
    with pytest.raises(TypeError) as info:
        writer.write(rows, tmp_path / f"x{writer.suffix}", columns=["a"], **options)
    assert str(info.value) == message
    assert rows.taken == 0 and os.listdir(tmp_path) == []


@WRITERS
@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"null_marker": None}, ValueError, "null_marker must be a string, got None"),
        ({"null_marker": 0}, ValueError, "null_marker must be a string, got 0"),
        ({"max_rows_per_file": 0}, ValueError, "max_rows_per_file must be None or an int >= 1, got 0"),
        ({"max_rows_per_file": 2.5}, ValueError, "max_rows_per_file must be None or an int >= 1, got 2.5"),
        ({"overwrite": 0}, ValueError, "overwrite must be True or False, got 0"),
        ({"progress": 5}, TypeError, "progress must be a callable progress(records_so_far) or None, got 5"),
    ],
)
def test_a_bad_shared_option_is_the_same_error_in_every_writer(tmp_path, writer, options, error, message):
    rows = Tracked([(1,)])
    with pytest.raises(error) as info:
        writer.write(rows, tmp_path / f"x{writer.suffix}", columns=["a"], **options)
    assert type(info.value) is error and str(info.value) == message
    assert rows.taken == 0 and os.listdir(tmp_path) == []


# ---------------------------------------------------------------- the rolling-name rule


@WRITERS
@pytest.mark.parametrize(
    ("rows", "max_rows", "batch", "counts"),
    [
        (10, 4, 3, [4, 4, 2]),
        (10, 5, 1000, [5, 5]),
        (10, 10, 3, [10]),
        (10, 100, 3, [10]),
        (7, 1, 2, [1] * 7),
        (0, 3, 2, [0]),
    ],
)
def test_rolling_by_rows_names_every_file_a_part_only_when_there_are_several(
    tmp_path, writer, rows, max_rows, batch, counts
):
    path = tmp_path / f"flights{writer.suffix}"
    result = writer.write([(i, f"v{i}") for i in range(rows)], path, columns=["i", "v"],
                          max_rows_per_file=max_rows, **{writer.batch: batch})
    assert [f.records for f in result.files] == counts
    if len(counts) == 1:
        assert [f.path for f in result.files] == [str(path)]
    else:
        assert [f.path for f in result.files] == [part_path(path, n) for n in range(1, len(counts) + 1)]
    assert result.path == result.files[0].path and result.records == rows
    assert result.bytes == sum(os.path.getsize(f.path) for f in result.files)
    seen = []
    for file in result.files:
        for page in writer.pages(file.path):
            assert page[0] == ["i", "v"]  # the header on every file (and every PDF page)
            seen += page[1:] if page[1:] != [["No rows"]] else []
    assert seen == [[str(i), f"v{i}"] for i in range(rows)]
    assert names_in(tmp_path) == sorted(os.path.basename(f.path) for f in result.files)


@WRITERS
def test_a_limited_export_that_fits_in_one_file_keeps_the_target_name(tmp_path, writer):
    path = tmp_path / f"fits{writer.suffix}"
    result = writer.write([(i,) for i in range(5)], path, columns=["n"], max_rows_per_file=5)
    assert [(f.path, f.records) for f in result.files] == [(str(path), 5)]
    assert names_in(tmp_path) == [path.name]


@WRITERS
def test_each_run_leaves_exactly_its_own_files(tmp_path, writer):
    target = tmp_path / f"r{writer.suffix}"
    target.write_bytes(b"single file of an earlier, shorter run")
    first = writer.write([(i,) for i in range(10)], target, columns=["n"], max_rows_per_file=4)
    assert [f.path for f in first.files] == [part_path(target, i) for i in (1, 2, 3)]
    assert names_in(tmp_path) == [f"r.part-0000{i}{writer.suffix}" for i in (1, 2, 3)]  # the single file is gone
    second = writer.write([(i,) for i in range(4)], target, columns=["n"], max_rows_per_file=4)
    assert [f.path for f in second.files] == [str(target)]
    assert names_in(tmp_path) == [target.name]  # the parts of the earlier run are gone
    writer.write([(i,) for i in range(6)], target, columns=["n"], max_rows_per_file=2)
    third = writer.write([(i,) for i in range(3)], target, columns=["n"], max_rows_per_file=2)
    assert names_in(tmp_path) == [f"r.part-0000{i}{writer.suffix}" for i in (1, 2)]
    assert [f.records for f in third.files] == [2, 1]


# ---------------------------------------------------------------- confine_to


@WRITERS
def test_confine_to_refuses_a_directory_that_resolves_outside_the_root(tmp_path, writer):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    rows = Tracked([(1,)])
    with pytest.raises(OutputOutsideRootError, match="outside the export root"):
        writer.write(rows, root / "link" / f"x{writer.suffix}", columns=["a"], confine_to=root)
    assert rows.taken == 0 and os.listdir(outside) == []


@WRITERS
def test_confine_to_allows_the_root_and_none_allows_anywhere(tmp_path, writer):
    root = tmp_path / "root"
    inside = writer.write([(1,)], root / "sub" / f"x{writer.suffix}", columns=["a"], confine_to=root)
    anywhere = writer.write([(1,)], tmp_path / f"y{writer.suffix}", columns=["a"], confine_to=None)
    assert inside.records == anywhere.records == 1
    assert os.path.exists(inside.path) and os.path.exists(anywhere.path)
