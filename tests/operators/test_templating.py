"""Templating of the export operators: data is never Jinja, a ``rows`` string is a native
template, only ``sql`` reads ``.sql`` files; and all of it survives DAG serialisation."""

from __future__ import annotations

import csv
import importlib
import json
import os
import sqlite3
import sys

import jinja2
import pendulum
import pytest

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.names import EXPORT_POOL


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_a_rows_string_is_a_template_rendered_to_a_python_object(tmp_path):
    op = ExportCsvOperator(
        task_id="n", rows="{{ params.rows }}", columns=["a", "b"], output_path=str(tmp_path / "n.csv")
    )
    op.render_template_fields({"params": {"rows": [[1, "{{ ds }}"], [2, None]]}}, jinja2.Environment())
    assert op.rows == [[1, "{{ ds }}"], [2, None]]
    op.execute({})
    assert read_csv(tmp_path / "n.csv") == [["a", "b"], ["1", "{{ ds }}"], ["2", ""]]


def test_a_rows_template_rendering_to_text_says_what_to_pass(tmp_path):
    op = ExportCsvOperator(task_id="s", rows="{{ ds }}", columns=["a"], output_path=str(tmp_path / "s.csv"))
    op.render_template_fields({"ds": "2024-01-01"}, jinja2.Environment())
    with pytest.raises(TypeError, match=r"got str; pass the upstream task's output \(rows=upstream_task\.output\)"):
        op.execute({})
    assert list(tmp_path.iterdir()) == []


def test_only_sql_reads_a_sql_file(tmp_path):
    (tmp_path / "title.sql").write_text("not a title")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)))
    op = ExportPdfOperator(
        task_id="p", rows=[[1]], columns=["a"], title="{{ ds }} title.sql", output_path=str(tmp_path / "x.sql.pdf"),
    )
    op.render_template_fields({"ds": "2024-01-01"}, env)
    assert op.title == "2024-01-01 title.sql"
    op.title = "title.sql"
    op.render_template_fields({"ds": "2024-01-01"}, env)
    assert op.title == "title.sql"


def test_literal_data_is_wrapped_at_construction_and_nothing_touches_the_disk(tmp_path, monkeypatch):
    from airflow.sdk import literal

    def no_disk(*args, **kwargs):
        raise AssertionError("the operator touched the file system while being built")

    monkeypatch.setattr("os.path.realpath", no_disk)
    monkeypatch.setattr("os.path.exists", no_disk)
    op = ExportCsvOperator(task_id="w", rows=[["{{ ds }}"]], columns=["c"], output_path="a/../b/x.csv",
                           export_root=str(tmp_path))
    assert op.rows == literal([["{{ ds }}"]]) and op.columns == literal(["c"])
    assert [a.uri for a in op.outlets] == [f"file://{tmp_path}/b/x.csv"]


DAGS = os.path.join(os.path.dirname(__file__), "dags")
BUNDLES = [
    {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {}},
    {"name": "templating-tests", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
     "kwargs": {"path": DAGS}},
]


@pytest.fixture()
def templated_dag(tmp_path, monkeypatch):
    """The DAG of ``dags/export_templating.py``, its own bundle, writing below ``tmp_path``."""
    db = tmp_path / "src.db"
    sqlite3.connect(db).close()
    monkeypatch.setenv("AIRFLOW_CONN_TEMPLATING_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    monkeypatch.setenv("AIRFLOW_EXPORT_ROOT", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(BUNDLES))
    monkeypatch.syspath_prepend(DAGS)
    sys.modules.pop("export_templating", None)
    module = importlib.import_module("export_templating")
    yield module.dag, tmp_path / "templating"
    sys.modules.pop("export_templating", None)


def test_the_dag_round_trips_through_serialisation(templated_dag):
    from airflow.serialization.serialized_objects import DagSerialization

    dag, _ = templated_dag
    restored = DagSerialization.from_dict(json.loads(json.dumps(DagSerialization.to_dict(dag))))
    assert sorted(restored.task_dict) == sorted(dag.task_dict)
    for task_id in ("literal_rows", "xcom_rows", "native_rows", "sql_file", "mapped"):
        task = restored.get_task(task_id)
        assert task.task_type == "ExportCsvOperator"
        assert task.pool == EXPORT_POOL
        assert tuple(task.template_fields) == ExportCsvOperator.template_fields
        assert tuple(task.template_ext) == (".sql",)
    assert "{{ ds }}" in str(restored.get_task("literal_rows").rows)
    assert restored.get_task("native_rows").rows == "{{ ti.xcom_pull(task_ids='upstream') }}"
    assert restored.get_task("sql_file").parameters == {"f": "backup.sql"}
    assert restored.get_task("xcom_rows").upstream_task_ids == {"upstream"}
    assert restored.get_task("native_rows").upstream_task_ids == {"upstream"}


def test_the_serialised_dag_runs_and_renders_as_written(templated_dag, airflow_db):
    dag, out = templated_dag
    run = dag.test(logical_date=pendulum.datetime(2024, 1, 2, tz="UTC"))
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    assert read_csv(out / "literal.csv") == [["{{ c }}", "d"], ["{{ ds }}", "report.sql"]]
    assert read_csv(out / "xcom.csv") == [["x", "y"], ["from xcom", "{{ ds }}"]]
    assert read_csv(out / "2024-01-02-native.csv") == [["x", "y"], ["from xcom", "{{ ds }}"]]
    assert read_csv(out / "sql.csv") == [["d", "f"], ["2024-01-02", "backup.sql"]]
    assert read_csv(out / "m1.csv") == read_csv(out / "m2.csv") == [["c"], ["{{ ds }}"]]
