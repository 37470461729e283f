"""Options that are not templated are checked when the DAG file is parsed (issue 16, item 4).

A typo in ``format_options`` or ``rows_per_page=0`` is an import error of the DAG file in the
DAG processor, with the writer's own message, not a failure after the query ran.
"""

from __future__ import annotations

import textwrap

import pytest
from airflow.dag_processing.dagbag import DagBag

from airflow_export import ExportCsvOperator, ExportPdfOperator

DAG_FILE = """
import pendulum
from airflow.sdk import DAG
from airflow_export import ExportCsvOperator, ExportPdfOperator

with DAG("bad_options", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    {task}
"""


def _import_errors(tmp_path, task: str) -> tuple[dict, dict]:
    (tmp_path / "bad_dag.py").write_text(textwrap.dedent(DAG_FILE).format(task=task))
    bag = DagBag(dag_folder=str(tmp_path))
    return bag.import_errors, bag.dags


@pytest.mark.parametrize(
    "task, message",
    [
        ('ExportCsvOperator(task_id="c", sql="SELECT 1", conn_id="db", output_path="x.csv", '
         'format_options={"delimeter": ";"})',
         "ExportCsvOperator 'c': write_csv() got an unknown option 'delimeter' (did you mean 'delimiter'?)"),
        ('ExportPdfOperator(task_id="p", sql="SELECT 1", conn_id="db", output_path="x.pdf", rows_per_page=0)',
         "ExportPdfOperator 'p': rows_per_page must be an int >= 1, got 0"),
        ('ExportPdfOperator(task_id="p", rows=[[1]], output_path="x.pdf", format_options={"page_size": "A3"})',
         "ExportPdfOperator 'p': page_size must be"),
        ('ExportCsvOperator(task_id="c", rows=[[1]], output_path="x.csv", format_options={"quoting": "some"})',
         "ExportCsvOperator 'c': quoting must be one of"),
        ('ExportCsvOperator(task_id="c", rows=[[1]], output_path="x.csv", chunk_size=0)',
         "ExportCsvOperator 'c': chunk_size must be an int >= 1, got 0"),
        # Mapped tasks: what .partial() is given is checked there.
        ('ExportCsvOperator.partial(task_id="m", rows=[[1]], format_options={"delimeter": ";"})'
         '.expand(output_path=["a.csv", "b.csv"])',
         "ExportCsvOperator 'm': write_csv() got an unknown option 'delimeter' (did you mean 'delimiter'?)"),
        ('ExportPdfOperator.partial(task_id="m", rows=[[1]], rows_per_page=0).expand(output_path=["a.pdf"])',
         "ExportPdfOperator 'm': rows_per_page must be an int >= 1, got 0"),
    ],
)
def test_a_dag_with_a_bad_option_fails_to_import(tmp_path, task, message):
    errors, dags = _import_errors(tmp_path, task)
    assert "bad_options" not in dags
    [(path, error)] = errors.items()
    assert path.endswith("bad_dag.py") and message in error, error


@pytest.mark.parametrize("task", [
    'ExportCsvOperator(task_id="c", sql="SELECT 1", conn_id="db", output_path="{{ run_id }}/x.csv", '
    'format_options={"delimiter": ";", "null_marker": "NULL"})',
    'ExportPdfOperator.partial(task_id="m", rows=[[1]], rows_per_page=10, format_options={"page_size": "letter"})'
    '.expand(output_path=["a.pdf", "b.pdf"])',
], ids=["csv", "mapped-pdf"])
def test_a_dag_with_good_options_imports(tmp_path, task):
    errors, dags = _import_errors(tmp_path, task)
    assert errors == {} and "bad_options" in dags


def test_the_check_does_no_io(tmp_path):
    # A font file that does not exist is the writer's business at run time, not the parser's.
    op = ExportPdfOperator(task_id="p", rows=[[1]], output_path="x.pdf",
                           format_options={"font_path": str(tmp_path / "missing.ttf")})
    assert op.format_options["font_path"].endswith("missing.ttf")
    with pytest.raises(TypeError, match="did you mean 'null_marker'"):
        ExportCsvOperator(task_id="c", rows=[[1]], output_path="x.csv", format_options={"null_markr": ""})
