"""Every Python code block of README.md and docs/*.md runs as written (issue 16, item 10).

The README's DAG is written to a DAG folder, parsed by a real ``DagBag`` and run with
``dag.test()`` against a SQLite ``warehouse`` connection; the writers' signatures in
docs/formats.md are compared with the real ones. A new Python block that no test covers fails
:func:`test_every_python_block_is_covered`.
"""

from __future__ import annotations

import csv
import gzip
import inspect
import json
import re
import sqlite3
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks() -> dict[tuple[str, int], str]:
    """(file name, block number) -> code of every ```python block."""
    found = {}
    for doc in DOCS:
        for number, match in enumerate(BLOCK.finditer(doc.read_text(encoding="utf-8"))):
            found[(str(doc.relative_to(REPO)), number)] = match.group(1)
    return found


COVERED = {("README.md", 0): "the README DAG", ("docs/formats.md", 0): "the writers' signatures"}


def test_every_python_block_is_covered():
    assert set(python_blocks()) == set(COVERED)


def test_no_example_uses_ds_or_pyformat_parameters():
    # {{ ds }} fails for runs without a logical date; %(name)s fails on SQLite.
    for code in python_blocks().values():
        assert "{{ ds }}" not in code and "%(" not in code


def plain_signature(function) -> str:
    """``rows, path, *, columns=None, ...`` of ``function``: names, kinds and defaults, no annotations."""
    parts, star = [], False
    for p in inspect.signature(function).parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        else:
            parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return ", ".join(parts)


def test_the_formats_signatures_are_the_real_ones():
    from airflow_export import write_csv, write_pdf

    code = python_blocks()[("docs/formats.md", 0)]
    for function in (write_csv, write_pdf):
        line = next(x for x in code.splitlines() if x.startswith(function.__name__ + "("))
        documented = line.split("(", 1)[1].rsplit(") ->", 1)[0]
        assert documented == plain_signature(function)


@pytest.fixture()
def readme_dag(tmp_path, monkeypatch, airflow_db):
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "readme_example.py").write_text(python_blocks()[("README.md", 0)], encoding="utf-8")
    db = tmp_path / "warehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, region TEXT, total REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(1, "north", 250.0), (2, "south", 80.0),
                                                                (3, "north", 100.0)])
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    root = tmp_path / "exports"
    monkeypatch.setenv("AIRFLOW_EXPORT_ROOT", str(root))
    bundles = [{"name": "readme-example", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(folder)}}]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    with create_session() as session:
        if Pool.get_pool("export_pool", session=session) is None:
            Pool.create_or_update_pool("export_pool", 5, "exports", include_deferred=False, session=session)
    return folder, root


def test_the_readme_dag_parses_and_runs(readme_dag):
    from airflow.dag_processing.dagbag import DagBag
    from pypdf import PdfReader

    folder, root = readme_dag
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {} and list(bag.dags) == ["orders_export"]
    dag = bag.dags["orders_export"]
    run = dag.test(logical_date=None)  # as triggered from the UI or the REST API: no logical date
    assert run.state == "success", [(ti.task_id, ti.state) for ti in run.get_task_instances()]
    out = root / "orders" / run.run_id
    with gzip.open(out / "orders.csv.gz", "rt", newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [["id", "region", "total"], ["1", "north", "250.0"], ["3", "north", "100.0"]]
    text = PdfReader(out / "summary.pdf").pages[0].extract_text()
    assert f"Orders, run {run.run_id}" in text and "north" in text and "120" in text
