"""The formula guard leaves plain numbers alone and says when it acted (issue 16, item 5).

Every value read from a CSV source file is a string: with the guard on (the default) a file
of plain numbers must come out exactly as it went in, and the metadata and the task log must
say how many cells the guard did change.
"""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from airflow_export import ExportCsvOperator, write_csv

NUMBERS = [["id", "delta", "rate", "big"], ["1", "-5", "+1.5", "-1e5"], ["2", "-0.25", "+7", "-.5"],
           ["3", "-12", "+3E-2", "0"]]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_a_plain_numbers_csv_source_round_trips_unchanged(tmp_path, capsys):
    source = tmp_path / "numbers.csv"
    with open(source, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(NUMBERS)
    op = ExportCsvOperator(task_id="numbers", source_path=str(source), output_path=str(tmp_path / "out.csv"))
    meta = op.execute({})
    assert read_csv(meta["path"]) == NUMBERS
    assert (tmp_path / "out.csv").read_bytes() == source.read_bytes()
    assert meta["formula_guarded_cells"] == 0
    assert "formula guard" not in capsys.readouterr().out


def test_formulas_stay_guarded_and_are_counted_in_metadata_and_log(tmp_path, capsys):
    rows = [["=1+1", "-5", 1], ["@SUM(A1)", "-2+3+cmd|' /C calc'!A0", -2], ["ok", "+1.5", 3]]
    op = ExportCsvOperator(task_id="formulas", rows=rows, columns=["a", "b", "c"],
                           output_path=str(tmp_path / "out.csv"))
    meta = op.execute({})
    assert read_csv(meta["path"])[1:] == [["'=1+1", "-5", "1"], ["'@SUM(A1)", "'-2+3+cmd|' /C calc'!A0", "-2"],
                                          ["ok", "+1.5", "3"]]
    assert meta["formula_guarded_cells"] == 3
    log = capsys.readouterr().out
    assert log.count("The formula guard prefixed 3 text cells with '") == 1, log


@pytest.mark.parametrize("chunk_size", [1, 2, 1000])
def test_the_count_covers_every_column_kind_and_chunk(tmp_path, chunk_size):
    # str-only columns, str with None, mixed types (str with Decimal): the three code paths.
    rows = [["=a", "=b", "=c"], ["-1", None, Decimal("-1")], ["+x", "=d", "-y"], ["x", None, "=e"]]
    result = write_csv(rows, tmp_path / "o.csv", columns=["s", "n", "m"], chunk_size=chunk_size)
    assert result.formula_guarded_cells == 7
    assert read_csv(tmp_path / "o.csv")[1:] == [["'=a", "'=b", "'=c"], ["-1", "", "-1"], ["'+x", "'=d", "'-y"],
                                                ["x", "", "'=e"]]
    off = write_csv(rows, tmp_path / "off.csv", columns=["s", "n", "m"], chunk_size=chunk_size, formula_guard=False)
    assert off.formula_guarded_cells == 0
