"""Empty input: the header whenever the columns are known, and ``on_empty`` (issue 16, item 9)."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from airflow.sdk.exceptions import AirflowSkipException
from pypdf import PdfReader

from airflow_export import ExportCsvOperator, ExportPdfOperator, metrics
from airflow_export.operators.empty import EmptyInputError
from tests.support.stats import CountingStats


@pytest.fixture()
def inputs(tmp_path, monkeypatch):
    """Every kind of empty input -> (operator arguments, the header expected, or None)."""
    db = tmp_path / "e.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    monkeypatch.setenv("AIRFLOW_CONN_EMPTY_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    (tmp_path / "header.csv").write_bytes(b"id,name\r\n")
    (tmp_path / "nothing.csv").write_bytes(b"")
    (tmp_path / "nothing.jsonl").write_bytes(b"")
    return {
        "xcom []": ({"rows": []}, None),
        "xcom [] with columns": ({"rows": [], "columns": ["id", "name"]}, ["id", "name"]),
        "xcom table": ({"rows": {"columns": ["id", "name"], "rows": []}}, ["id", "name"]),
        "empty query": ({"conn_id": "empty_db", "sql": "SELECT * FROM t WHERE id > :n", "parameters": {"n": 0}},
                        ["id", "name"]),
        "header-only csv file": ({"source_path": str(tmp_path / "header.csv")}, ["id", "name"]),
        "empty csv file": ({"source_path": str(tmp_path / "nothing.csv")}, None),
        "empty jsonl file": ({"source_path": str(tmp_path / "nothing.jsonl")}, None),
    }


CASES = ["xcom []", "xcom [] with columns", "xcom table", "empty query", "header-only csv file", "empty csv file",
         "empty jsonl file"]


@pytest.fixture()
def counted(monkeypatch):
    recorder = CountingStats()
    monkeypatch.setattr(metrics, "_stats", lambda: recorder)
    return recorder.counted


@pytest.mark.parametrize("case", CASES)
def test_write_gives_the_header_whenever_the_columns_are_known(inputs, case, tmp_path, capsys):
    kwargs, header = inputs[case]
    target = tmp_path / "out.csv"
    meta = ExportCsvOperator(task_id="e", output_path=str(target), **kwargs).execute({})
    assert meta["records"] == 0
    with open(target, newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == ([header] if header else [])
    log = capsys.readouterr().out
    said = "with the header only (columns id, name; on_empty='write')" if header else "no columns are known"
    assert "has no rows" in log and said in log, log


@pytest.mark.parametrize("case", ["xcom [] with columns", "empty query"])
def test_write_gives_a_pdf_with_the_header(inputs, case, tmp_path):
    kwargs, _ = inputs[case]
    meta = ExportPdfOperator(task_id="e", output_path=str(tmp_path / "out.pdf"), **kwargs).execute({})
    text = PdfReader(meta["path"]).pages[0].extract_text()
    assert meta["records"] == 0 and "id" in text and "name" in text


@pytest.mark.parametrize("case", CASES)
def test_skip_writes_nothing_and_keeps_the_previous_file(inputs, case, tmp_path, capsys, counted):
    kwargs, _ = inputs[case]
    target = tmp_path / "out.csv"
    target.write_bytes(b"previous\r\n")
    with pytest.raises(AirflowSkipException, match="has no rows"):
        ExportCsvOperator(task_id="e", output_path=str(target), on_empty="skip", **kwargs).execute({})
    assert target.read_bytes() == b"previous\r\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == ["out.csv"]
    assert "the task is skipped (on_empty='skip')" in capsys.readouterr().out
    assert "export.requests.csv.failed" not in counted and "export.requests.csv.success" not in counted


@pytest.mark.parametrize("case", CASES)
def test_fail_writes_nothing_and_counts_invalid_input(inputs, case, tmp_path, counted):
    kwargs, _ = inputs[case]
    target = tmp_path / "out.pdf"
    with pytest.raises(EmptyInputError, match="has no rows and on_empty='fail'"):
        ExportPdfOperator(task_id="e", output_path=str(target), on_empty="fail", **kwargs).execute({})
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out")]
    assert counted.count("export.failures.invalid_input") == 1 and counted.count("export.requests.pdf.failed") == 1


def test_rows_are_not_lost_by_the_peek(tmp_path):
    def rows():
        yield from ([i, f"r{i}"] for i in range(2500))

    meta = ExportCsvOperator(task_id="e", rows=rows(), columns=["i", "r"], on_empty="fail",
                             output_path=str(tmp_path / "o.csv")).execute({})
    with open(meta["path"], newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh))[1:] == [[str(i), f"r{i}"] for i in range(2500)]


def test_a_bad_choice_fails_when_the_dag_is_parsed():
    with pytest.raises(ValueError, match=r"on_empty must be one of \('write', 'skip', 'fail'\), got 'ignore'"):
        ExportCsvOperator(task_id="e", rows=[], output_path="x.csv", on_empty="ignore")
