"""OpenLineage facets of the operators and the Asset extras."""

from __future__ import annotations

import json
import sqlite3

import pytest

from airflow_export import ExportCsvOperator, ExportPdfOperator, export_asset


@pytest.fixture()
def flights_conn(tmp_path, monkeypatch):
    path = tmp_path / "f.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE flights (carrier TEXT, delay REAL)")
        conn.execute("CREATE TABLE airlines (carrier TEXT, name TEXT)")
        conn.executemany("INSERT INTO flights VALUES (?, ?)", [("AA", 1.5), ("UA", None), ("AA", 3.0)])
        conn.execute("INSERT INTO airlines VALUES ('AA', 'American'), ('UA', 'United')")
    monkeypatch.setenv("AIRFLOW_CONN_FLIGHTS_LINEAGE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def test_sql_inputs_are_parsed_and_output_is_the_file(flights_conn, tmp_path):
    out = tmp_path / "o.csv"
    op = ExportCsvOperator(
        task_id="l", conn_id="flights_lineage", output_path=str(out),
        sql="SELECT a.name, f.delay FROM flights f JOIN airlines a ON a.carrier = f.carrier",
    )
    start = op.get_openlineage_facets_on_start()
    assert sorted((d.namespace, d.name) for d in start.inputs) == [
        (f"sqlite://{flights_conn}", "airlines"), (f"sqlite://{flights_conn}", "flights"),
    ]
    assert [(d.namespace, d.name) for d in start.outputs] == [("file", str(out))]
    meta = op.execute({})
    done = op.get_openlineage_facets_on_complete(None)
    [output] = done.outputs
    stats = output.outputFacets["outputStatistics"]
    assert (output.name, stats.rowCount, stats.size, stats.fileCount) == (str(out), 3, meta["bytes"], 1)


def test_file_input_and_rolled_parts_are_datasets(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(5)))
    op = ExportPdfOperator(task_id="p", source_path=str(src), output_path=str(tmp_path / "o.pdf"),
                           format_options={"max_rows_per_file": 2})
    op.execute({})
    done = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in done.inputs] == [("file", str(src))]
    assert [d.outputFacets["outputStatistics"].rowCount for d in done.outputs] == [2, 2, 1]
    names = [d.name.rsplit("/", 1)[1] for d in done.outputs]
    assert names == ["o.part-00001.pdf", "o.part-00002.pdf", "o.part-00003.pdf"]


def test_static_path_declares_a_file_asset_and_templated_does_not(tmp_path):
    static = ExportCsvOperator(task_id="s", rows=[], output_path="out/x.csv", export_root=str(tmp_path))
    assert [a.uri for a in static.outlets] == [f"file://{tmp_path}/out/x.csv"]
    assert export_asset("out/x.csv", str(tmp_path)) == static.outlets[0]
    templated = ExportCsvOperator(task_id="t", rows=[], output_path="out/{{ run_id }}/x.csv", export_root=str(tmp_path))
    assert templated.outlets == []
    with pytest.raises(ValueError, match="templated or remote"):
        export_asset("out/{{ ds }}.csv")


def test_the_asset_is_derived_from_the_text_and_the_task_checks_the_real_path(tmp_path):
    from airflow_export.destinations import ExportPathError

    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (real / "out").symlink_to(tmp_path / "elsewhere")
    link = tmp_path / "link"
    link.symlink_to(real)
    op = ExportCsvOperator(task_id="a", rows=[[1]], columns=["a"], output_path="x/../y.csv", export_root=str(link))
    assert [a.uri for a in op.outlets] == [f"file://{link}/y.csv"]
    assert op.execute({})["path"] == str(real / "y.csv")
    escaping = ExportCsvOperator(task_id="e", rows=[[1]], columns=["a"], output_path="out/y.csv", export_root=str(link))
    assert [a.uri for a in escaping.outlets] == [f"file://{link}/out/y.csv"]  # parse time: the text is inside
    with pytest.raises(ExportPathError, match="outside the export root"):
        escaping.execute({})
    assert list((tmp_path / "elsewhere").iterdir()) == []
