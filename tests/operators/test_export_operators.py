"""The operators: inputs (SQL via a connection, XCom rows, files), atomic output, XCom metadata."""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import os
import sqlite3
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.destinations import ExportPathError
from airflow_export.metrics import failure_reason
from airflow_export.sources.base import ConnectionNotDefinedError, SourceError


@pytest.fixture()
def sqlite_conn(tmp_path, monkeypatch):
    """A SQLite database with 2,500 rows, reachable as Airflow connection ``test_db``."""
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT, amount REAL, note TEXT)")
        conn.executemany(
            "INSERT INTO t VALUES (?,?,?,?)",
            [(i, f"name {i}, \"quoted\"", i * 1.5, None if i % 3 == 0 else "=cmd" if i % 5 == 0 else "")
             for i in range(1, 2501)],
        )
    monkeypatch.setenv("AIRFLOW_CONN_TEST_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_sql_to_csv_streams_every_row_with_bound_parameters(sqlite_conn, tmp_path, capsys):
    op = ExportCsvOperator(
        task_id="t", conn_id="test_db", sql="SELECT * FROM t WHERE id <= :n ORDER BY id", parameters={"n": 2400},
        output_path=str(tmp_path / "out" / "t.csv"), fetch_size=7, chunk_size=100, progress_every_rows=1000,
    )
    meta = op.execute({})
    rows = read_csv(tmp_path / "out" / "t.csv")
    assert rows[0] == ["id", "name", "amount", "note"]
    assert len(rows) == 2401 and meta["records"] == 2400
    assert rows[1] == ["1", 'name 1, "quoted"', "1.5", ""]
    assert rows[3] == ["3", 'name 3, "quoted"', "4.5", ""]  # NULL -> "" (default null marker)
    assert rows[5] == ["5", 'name 5, "quoted"', "7.5", "'=cmd"]  # formula guard on strings
    data = (tmp_path / "out" / "t.csv").read_bytes()
    assert meta["bytes"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["format"] == "csv" and meta["path"] == str(tmp_path / "out" / "t.csv")
    assert meta["files"] == [{"path": meta["path"], "records": 2400, "bytes": len(data), "sha256": meta["sha256"]}]
    json.dumps(meta)  # XCom-serialisable metadata, no rows
    progress = [line for line in capsys.readouterr().out.splitlines() if "rows so far" in line]
    assert len(progress) == 2, progress  # every 1,000 rows: at 1,000 and 2,000
    assert ": 1000 rows so far," in progress[0] and "rows/s, RSS" in progress[0]


def test_xcom_rows_to_pdf(tmp_path):
    rows = [{"city": "Tokyo 東京", "note": "S&P 500", "n": i} for i in range(120)]
    op = ExportPdfOperator(task_id="p", rows=rows, output_path=str(tmp_path / "r.pdf"), title="Cities")
    meta = op.execute({})
    assert meta["records"] == 120 and meta["format"] == "pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "r.pdf").pages)
    assert "Tokyo 東京" in text and "S&P 500" in text and "Cities" in text


def test_pdf_footer_takes_the_time_from_the_dag_run_not_the_clock(tmp_path):
    rows = [{"city": "Oslo", "n": i} for i in range(3)]
    target = tmp_path / "f.pdf"
    files = []
    for minute in (0, 0, 30):  # a retry of the same run writes the same bytes; another run differs
        op = ExportPdfOperator(task_id="p", rows=rows, output_path=str(target), title="Cities", overwrite=True,
                               format_options={"caption": "Nordic cities"})
        oslo = datetime.timezone(datetime.timedelta(hours=2))
        op.execute({"logical_date": datetime.datetime(2024, 5, 1, 8, minute, tzinfo=oslo)})
        files.append(target.read_bytes())
    assert files[0] == files[1] and files[0] != files[2]
    footer = PdfReader(target).pages[0].extract_text().split("\n")[-1]
    assert footer == "Nordic cities · 3 rows · run 2024-05-01 06:30 UTC Page 1 of 1"
    # no logical date (a manual run in Airflow 3): the run's run_after
    op = ExportPdfOperator(task_id="p", rows=rows, output_path=str(target), overwrite=True)
    run = SimpleNamespace(run_after=datetime.datetime(2024, 6, 2, tzinfo=datetime.UTC))
    op.execute({"logical_date": None, "dag_run": run})
    assert "3 rows · run 2024-06-02 00:00 UTC" in PdfReader(target).pages[0].extract_text()


def test_table_shaped_xcom_and_jsonl_file(tmp_path):
    ExportCsvOperator(
        task_id="x", rows={"columns": ["a", "b"], "rows": [[1, None], [2, "x"]]}, output_path=str(tmp_path / "x.csv")
    ).execute({})
    assert read_csv(tmp_path / "x.csv") == [["a", "b"], ["1", ""], ["2", "x"]]
    src = tmp_path / "in.jsonl"
    src.write_text('{"a": 1, "b": "x"}\n\n{"a": 2, "b": null}\n', encoding="utf-8")
    ExportCsvOperator(task_id="j", source_path=str(src), output_path=str(tmp_path / "j.csv")).execute({})
    assert read_csv(tmp_path / "j.csv") == [["a", "b"], ["1", "x"], ["2", ""]]


def test_csv_file_source_round_trip(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,text\r\n1,"a,b"\r\n2,"line\nbreak"\r\n', encoding="utf-8")
    ExportCsvOperator(task_id="c", source_path=str(src), output_path=str(tmp_path / "c.csv")).execute({})
    assert read_csv(tmp_path / "c.csv") == [["id", "text"], ["1", "a,b"], ["2", "line\nbreak"]]


def test_bad_jsonl_line_is_named_and_no_file_is_left(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"a": 1}\n{"a": 2\n', encoding="utf-8")
    out = tmp_path / "bad.csv"
    with pytest.raises(SourceError, match=r"bad.jsonl: line 2: invalid JSON"):
        ExportCsvOperator(task_id="b", source_path=str(src), output_path=str(out)).execute({})
    assert os.listdir(tmp_path) == ["bad.jsonl"]


def test_sql_error_names_the_connection(sqlite_conn, tmp_path):
    op = ExportCsvOperator(
        task_id="e", conn_id="test_db", sql="SELECT nope FROM t", output_path=str(tmp_path / "e.csv")
    )
    with pytest.raises(SourceError, match=r"query on connection 'test_db' failed: OperationalError: no such column: "
                                          r"nope"):
        op.execute({})
    assert not (tmp_path / "e.csv").exists()


def test_unknown_connection_fails_clearly(tmp_path):
    op = ExportCsvOperator(task_id="u", conn_id="no_such_conn", sql="SELECT 1", output_path=str(tmp_path / "u.csv"))
    with pytest.raises(ConnectionNotDefinedError) as caught:
        op.execute({})
    assert str(caught.value).startswith(
        "connection 'no_such_conn' is not defined (The conn_id `no_such_conn` isn't defined); define it in the UI")
    assert "as the environment variable AIRFLOW_CONN_NO_SUCH_CONN" in str(caught.value)
    assert isinstance(caught.value, SourceError) and failure_reason(caught.value) == "source_error"
    assert not (tmp_path / "u.csv").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "give exactly one input"),
        ({"rows": [], "source_path": "x.csv"}, "give exactly one input"),
        ({"sql": "SELECT 1"}, "sql needs conn_id"),
        ({"rows": [], "fetch_size": 0}, "fetch_size must be >= 1"),
        ({"rows": [], "format_options": {"overwrite": False}}, r"format_options may not set \['overwrite'\]"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        ExportCsvOperator(task_id="bad", output_path=str(tmp_path / "x.csv"), **kwargs)


def test_pool_defaults_to_export_pool(tmp_path):
    assert ExportCsvOperator(task_id="d", rows=[], output_path="x.csv").pool == "export_pool"
    assert ExportPdfOperator(task_id="d2", rows=[], output_path="x.pdf", pool="other").pool == "other"


@pytest.mark.parametrize("output", ["../escape.csv", "/etc/passwd_export.csv", "sub/../../escape.csv", "link/x.csv"])
def test_output_outside_the_export_root_is_rejected(output, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)  # a symlink pointing out of the root
    op = ExportCsvOperator(task_id="s", rows=[[1]], columns=["a"], output_path=output, export_root=str(root))
    with pytest.raises(ExportPathError, match="outside the export root"):
        op.execute({})
    assert sorted(os.listdir(tmp_path)) == ["root"]


def test_relative_output_goes_under_the_export_root(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_EXPORT_ROOT", str(tmp_path))
    meta = ExportCsvOperator(task_id="r", rows=[[1]], columns=["a"], output_path="a/b/c.csv").execute({})
    assert meta["path"] == str(tmp_path / "a" / "b" / "c.csv")
    assert read_csv(meta["path"]) == [["a"], ["1"]]


def test_overwrite_false_fails_before_reading(tmp_path):
    target = tmp_path / "o.csv"
    target.write_text("keep me")
    touched = []

    def rows():
        touched.append(True)
        yield [1]

    op = ExportCsvOperator(task_id="o", rows=rows(), columns=["a"], output_path=str(target), overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        op.execute({})
    assert target.read_text() == "keep me" and touched == []


@pytest.mark.parametrize("existing", ["o.csv", "o.part-00001.csv"])
def test_overwrite_false_fails_before_the_query_runs(sqlite_conn, tmp_path, existing):
    """The check comes before the source is opened: a query failing on its first row is never run."""
    (tmp_path / existing).write_text("keep me")
    op = ExportCsvOperator(task_id="o", conn_id="test_db", sql="SELECT abs(-9223372036854775808) AS boom",
                           output_path=str(tmp_path / "o.csv"), overwrite=False)
    with pytest.raises(FileExistsError) as caught:
        op.execute({})
    assert str(caught.value) == f"[Errno 17] output file {tmp_path / existing} already exists and overwrite=False"
    assert (tmp_path / existing).read_text() == "keep me"


def test_output_path_ending_with_a_separator_is_refused(tmp_path):
    op = ExportCsvOperator(task_id="d", rows=[[1]], columns=["a"], output_path=str(tmp_path / "d2") + "/")
    with pytest.raises(ValueError, match=r"ends with a separator \(or \. / \.\.\), so it names a directory; give a "
                                         r"file name, e\.g\. .*d2/export\.csv"):
        op.execute({})
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    from demo_data import ensure_demo_db

    return ensure_demo_db(str(tmp_path_factory.mktemp("demo") / "demo.db"))


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_export_single_through_dag_test(fmt, airflow_db, demo_db, tmp_path, monkeypatch):
    """The real ``export_single`` DAG, run in-process by ``dag.test()`` with the form's Params."""
    from export_single import dag

    monkeypatch.setenv("AIRFLOW_EXPORT_ROOT", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_EXPORT_DEMO_DB", json.dumps({"conn_type": "sqlite", "host": demo_db}))
    run = dag.test(run_conf={"records": 2000, "format": fmt})
    assert run.state == "success"
    [out] = list((tmp_path / "export_single").glob(f"*/records.{fmt}"))
    query = "SELECT id, name, email FROM demo_records ORDER BY id LIMIT 2000"
    expected = sqlite3.connect(demo_db).execute(query).fetchall()
    if fmt == "csv":
        rows = read_csv(out)
        assert len(rows) == 2001
        assert [(int(r[0]), r[1], r[2] or None) for r in rows[1:]] == expected
    else:
        reader = PdfReader(out)
        assert len(reader.pages) >= 40  # at most 50 rows a page; wrapped rows take more room
        text = "\n".join(p.extract_text() for p in reader.pages)
        assert "Demo records (2000)" in text
        assert f"2,000 rows · run {run.logical_date.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC" in text
        first_tokens = {line.split()[0] for line in text.splitlines() if line.split()}
        assert [i for i, _, _ in expected if str(i) not in first_tokens] == []  # every row starts a line


def test_literal_rows_and_columns_are_data_not_templates(tmp_path):
    import jinja2

    nasty = ["price {{ ds }}", "{#", "{{ 1/0 }}", "query.sql"]
    op = ExportCsvOperator(
        task_id="n", rows=[[v, "x"] for v in nasty], columns=["report.sql", "{{ col }}"],
        parameters=None, output_path=str(tmp_path / "{{ ds }}.csv"),
    )
    op.render_template_fields({"ds": "2024-01-01"}, jinja2.Environment())
    assert op.output_path == str(tmp_path / "2024-01-01.csv")  # templated fields still render
    op.execute({})
    assert read_csv(tmp_path / "2024-01-01.csv") == [["report.sql", "{{ col }}"]] + [[v, "x"] for v in nasty]


def test_parameters_ending_in_sql_are_values_not_files(sqlite_conn, tmp_path):
    import jinja2

    op = ExportCsvOperator(
        task_id="p", conn_id="test_db", sql="SELECT :f AS f, :d AS d", parameters={"f": "backup.sql", "d": "{{ ds }}"},
        output_path=str(tmp_path / "p.csv"),
    )
    op.render_template_fields({"ds": "2024-01-01"}, jinja2.Environment())
    op.execute({})
    assert read_csv(tmp_path / "p.csv") == [["f", "d"], ["backup.sql", "2024-01-01"]]


def test_tsv_source_uses_tabs(tmp_path):
    src = tmp_path / "in.tsv"
    src.write_text("id\tname\n1\tAnn, B\n", encoding="utf-8")
    ExportCsvOperator(task_id="t", source_path=str(src), output_path=str(tmp_path / "t.csv")).execute({})
    assert read_csv(tmp_path / "t.csv") == [["id", "name"], ["1", "Ann, B"]]


def test_on_kill_after_a_timeout_keeps_the_timeout(tmp_path):
    """Airflow calls on_kill() after execute() raised AirflowTaskTimeout: the timeout must stay the error."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    def rows():
        yield [1]
        raise AirflowTaskTimeout("Timeout")

    op = ExportCsvOperator(task_id="k", rows=rows(), columns=["a"], output_path=str(tmp_path / "k.csv"))
    with pytest.raises(AirflowTaskTimeout):
        op.execute({})
    op.on_kill()  # nothing running: must not raise ExportCancelled over the timeout
    assert list(tmp_path.iterdir()) == []


def test_export_root_violation_counts_as_a_failed_export(tmp_path, monkeypatch):
    from airflow_export import metrics

    calls = []
    monkeypatch.setattr(metrics, "export_failed", lambda fmt, reason, d: calls.append((fmt, reason)))
    monkeypatch.setattr(metrics, "export_started", lambda fmt: calls.append(("start", fmt)))
    monkeypatch.setattr(metrics, "export_ended", lambda: calls.append(("end",)))
    op = ExportCsvOperator(task_id="r", rows=[[1]], columns=["a"], output_path="../x.csv", export_root=str(tmp_path))
    with pytest.raises(ExportPathError):
        op.execute({})
    assert calls == [("start", "csv"), ("csv", "invalid_input"), ("end",)]


def test_columns_rename_query_and_file_columns_and_a_wrong_count_fails(sqlite_conn, tmp_path):
    out = tmp_path / "renamed.csv"
    ExportCsvOperator(task_id="r", conn_id="test_db", sql="SELECT id, amount FROM t WHERE id <= 2 ORDER BY id",
                      columns=["ID", "Amount (EUR)"], output_path=str(out)).execute({})
    assert read_csv(out) == [["ID", "Amount (EUR)"], ["1", "1.5"], ["2", "3.0"]]
    with pytest.raises(ValueError, match=r"columns has 1 names \['b'\] but query on connection 'test_db' has 2 "
                                         r"columns \['id', 'amount'\]"):
        ExportCsvOperator(task_id="w", conn_id="test_db", sql="SELECT id, amount FROM t", columns=["b"],
                          output_path=str(tmp_path / "w.csv")).execute({})
    assert not (tmp_path / "w.csv").exists()
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,x\n", encoding="utf-8")
    ExportCsvOperator(
        task_id="f", source_path=str(src), columns=["A", "B"], output_path=str(tmp_path / "f.csv")
    ).execute({})
    assert read_csv(tmp_path / "f.csv") == [["A", "B"], ["1", "x"]]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"a": 1, "b": "x", "secret": "s"}\n', encoding="utf-8")
    ExportCsvOperator(
        task_id="j", source_path=str(jsonl), columns=["b", "a"], output_path=str(tmp_path / "j.csv")
    ).execute({})
    assert read_csv(tmp_path / "j.csv") == [["b", "a"], ["x", "1"]]


def test_a_too_long_file_name_fails_before_the_query_runs(sqlite_conn, tmp_path):
    from airflow_export.writers.frame import OutputError

    op = ExportCsvOperator(task_id="l", conn_id="test_db", sql="SELECT abs(-9223372036854775808) AS boom",
                           output_path=str(tmp_path / ("b" * 220 + ".csv")))
    with pytest.raises(OutputError, match="would exceed the file system's 255-byte limit"):
        op.execute({})


@pytest.mark.parametrize("suffix", ["/", "/.", "/.."])
def test_directory_like_output_paths_are_refused_by_operator_and_writers(tmp_path, suffix):
    from airflow_export import write_csv, write_pdf
    from airflow_export.writers.frame import OutputError

    target = str(tmp_path / "out") + suffix
    with pytest.raises(ValueError, match="names a directory; give a file"):
        ExportCsvOperator(task_id="d", rows=[[1]], columns=["a"], output_path=target).execute({})
    for writer in (write_csv, write_pdf):
        with pytest.raises(OutputError, match="names a directory; give a file name"):
            writer([[1]], target, columns=["a"])
    assert list(tmp_path.iterdir()) == []


def test_overwrite_false_sees_any_part_file_before_the_query(sqlite_conn, tmp_path):
    (tmp_path / "p.part-00002.csv").write_text("an earlier rolled export")
    op = ExportCsvOperator(task_id="p", conn_id="test_db", sql="SELECT abs(-9223372036854775808) AS boom",
                           output_path=str(tmp_path / "p.csv"), overwrite=False)
    with pytest.raises(FileExistsError, match=r"p\.part-00002\.csv already exists and overwrite=False"):
        op.execute({})


def test_an_existing_directory_as_output_path_fails_before_the_query(sqlite_conn, tmp_path):
    (tmp_path / "adir.csv").mkdir()
    op = ExportCsvOperator(task_id="d", conn_id="test_db", sql="SELECT abs(-9223372036854775808) AS boom",
                           output_path=str(tmp_path / "adir.csv"))
    with pytest.raises(OSError, match=r"adir\.csv is a directory, expected a file path"):
        op.execute({})


def test_writers_refuse_uris_and_later_parts_with_overwrite_false(tmp_path):
    from airflow_export import write_csv, write_pdf
    from airflow_export.writers.frame import OutputError, OutputExistsError

    for writer in (write_csv, write_pdf):
        with pytest.raises(OutputError, match="is a URI; the writers take local paths"):
            writer([[1]], f"file://{tmp_path}/x.csv", columns=["a"])
    (tmp_path / "r.part-00002.pdf").write_text("old")
    read = []

    def rows():
        read.append(1)
        yield [1]

    with pytest.raises(OutputExistsError, match=r"r\.part-00002\.pdf already exists"):
        write_pdf(rows(), tmp_path / "r.pdf", overwrite=False)
    assert read == [] and not any(p.name.startswith("file:") for p in tmp_path.iterdir())


def test_export_asset_for_file_uris_and_paths_outside_the_root(tmp_path):
    from airflow_export import export_asset

    root = str(tmp_path)
    assert export_asset(f"file://{tmp_path}/y.csv", root).uri == f"file://{tmp_path}/y.csv"
    op = ExportCsvOperator(task_id="i", rows=[[1]], output_path=f"file://{tmp_path}/o/i.csv", export_root=root)
    assert [a.uri for a in op.outlets] == [f"file://{tmp_path}/o/i.csv"]
    with pytest.raises(ExportPathError, match=r"outside the export root"):
        export_asset("../x.csv", root)
    with pytest.raises(ValueError, match="is templated or remote"):
        export_asset("s3://bucket/x.csv", root)
