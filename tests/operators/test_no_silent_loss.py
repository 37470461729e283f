"""Every value in, every value out, through the operators (docs/adr/0050-0052): XCom rows and
JSON Lines whose keys differ, lone surrogates, integers beyond 2**53 from XCom, JSON Lines and
SQLite into both formats. Values are read back with csv.reader and pypdf. (PostgreSQL: tests/sources/
test_postgres_big_integers.py.)"""

from __future__ import annotations

import csv
import json
import os
import sqlite3

import pytest
from airflow.sdk.bases.xcom import BaseXCom
from pypdf import PdfReader

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.metrics import failure_reason
from tests.writers.pdf.reading import table_rows

#: Integers a double (JSON in JavaScript, many tools' float parsing) cannot hold.
BIG = [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 2**64 + 1, 10**30 + 7]


def csv_records(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def pdf_records(path) -> list[list[str]]:
    lines = [list(line) for page in PdfReader(path).pages for line in table_rows(page)]
    return [lines[0]] + [line for line in lines if line != lines[0]]


OPERATORS = pytest.mark.parametrize(
    ("operator", "suffix", "records"),
    [(ExportCsvOperator, ".csv", csv_records), (ExportPdfOperator, ".pdf", pdf_records)],
    ids=["csv", "pdf"],
)


def through_xcom(value):
    """``value`` as a downstream task gets it: serialised and deserialised by Airflow's XCom."""
    stored = BaseXCom.serialize_value(value)
    return BaseXCom.deserialize_value(type("XComResult", (), {"value": stored})())


@OPERATORS
def test_xcom_rows_with_differing_keys_write_every_key(tmp_path, operator, suffix, records):
    rows = through_xcom([{"id": 1, "a": "x"}, {"id": 2, "b": "y"}, {"id": 3, "c": "z", "a": "w"}])
    out = tmp_path / f"x{suffix}"
    operator(task_id="x", rows=rows, output_path=str(out), format_options={"null_marker": "-"}).execute({})
    assert records(out) == [["id", "a", "b", "c"], ["1", "x", "-", "-"], ["2", "-", "y", "-"], ["3", "w", "-", "z"]]


@OPERATORS
def test_jsonl_with_a_new_key_after_the_window_fails_before_any_file(tmp_path, operator, suffix, records):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": n}) for n in range(1, 1500)] + [json.dumps({"id": 1500, "late": "v"})]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out" / f"j{suffix}"
    with pytest.raises(ValueError) as info:
        operator(task_id="j", source_path=str(src), output_path=str(out)).execute({})
    assert str(info.value).startswith("row 1500: key 'late' not among the columns ['id'], which are the keys of the "
                                      "first 1000 rows of a streamed input; pass columns=[...]")
    assert failure_reason(info.value) == "invalid_input"
    assert not out.parent.exists() or os.listdir(out.parent) == []
    # Named columns choose the keys: the export then runs, with the columns asked for.
    operator(task_id="j", source_path=str(src), output_path=str(out), columns=["late", "id"],
             format_options={"null_marker": "-"}).execute({})
    got = records(out)
    assert got[0] == ["late", "id"] and got[-1] == ["v", "1500"] and got[1] == ["-", "1"] and len(got) == 1501


@OPERATORS
def test_a_lone_surrogate_from_json_lines_fails_naming_row_and_column(tmp_path, operator, suffix, records):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "name": "ok"}\n{"id": 2, "name": "cut \\ud83d"}\n', encoding="utf-8")
    out = tmp_path / f"s{suffix}"
    with pytest.raises(ValueError, match=r"^row 2, column 'name': character '\\ud83d' cannot be encoded in "):
        operator(task_id="s", source_path=str(src), output_path=str(out)).execute({})
    assert not out.exists()


@OPERATORS
def test_big_integers_keep_every_digit_from_xcom_json_lines_and_sqlite(tmp_path, operator, suffix, records):
    expected = [["n"]] + [[str(n)] for n in BIG]
    out = tmp_path / f"x{suffix}"
    operator(task_id="x", rows=through_xcom([{"n": n} for n in BIG]), output_path=str(out)).execute({})
    assert records(out) == expected

    src = tmp_path / "in.jsonl"
    src.write_text("".join(f'{{"n": {n}}}\n' for n in BIG), encoding="utf-8")
    out = tmp_path / f"j{suffix}"
    operator(task_id="j", source_path=str(src), output_path=str(out)).execute({})
    assert records(out) == expected

    db = tmp_path / "big.db"
    with sqlite3.connect(db) as conn:  # SQLite integers are 64-bit: the values that fit
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in BIG if -(2**63) <= n < 2**63])
    os.environ["AIRFLOW_CONN_BIG_DB"] = json.dumps({"conn_type": "sqlite", "host": str(db)})
    try:
        out = tmp_path / f"d{suffix}"
        operator(task_id="d", conn_id="big_db", sql="SELECT n FROM t", output_path=str(out)).execute({})
    finally:
        del os.environ["AIRFLOW_CONN_BIG_DB"]
    assert records(out) == [["n"]] + [[str(n)] for n in BIG if -(2**63) <= n < 2**63]
