"""export_single: one export of generated, realistic records, triggered from the UI with a form.

Params (shown by Airflow's trigger form): ``records`` (1-100,000) and ``format`` (csv | pdf).
The rows come from the ``demo_records`` table (mixed types, NULLs, non-ASCII names, quotes,
commas, newlines, formula-like text) through the ``export_demo_db`` connection; the row count
is a bound SQL parameter, never formatted into the query.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task
from demo_data import DEMO_CONN, DEMO_RECORDS, prepare_data_task

from airflow_export import ExportCsvOperator, ExportPdfOperator

SQL = "SELECT * FROM demo_records ORDER BY id LIMIT :records"

with DAG(
    dag_id="export_single",
    description="Export N generated records to CSV or PDF",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["export", "demo"],
    params={
        "records": Param(
            1000, type="integer", minimum=1, maximum=DEMO_RECORDS,
            title="Records", description=f"How many records to export (1 to {DEMO_RECORDS:,}).",
        ),
        "format": Param(
            "csv", type="string", enum=["csv", "pdf"],
            title="Format", description="csv: RFC 4180 text; pdf: a paginated table, 50 rows a page.",
        ),
    },
) as dag:

    @task.branch
    def choose_format(params: dict | None = None) -> str:
        return f"export_{params['format']}"

    common = dict(
        conn_id=DEMO_CONN,
        sql=SQL,
        parameters={"records": "{{ params.records }}"},
    )
    csv_export = ExportCsvOperator(
        task_id="export_csv", output_path="export_single/{{ run_id }}/records.csv", **common
    )
    pdf_export = ExportPdfOperator(
        task_id="export_pdf", output_path="export_single/{{ run_id }}/records.pdf",
        title="Demo records ({{ params.records }})", **common,
    )
    prepare_data_task() >> choose_format() >> [csv_export, pdf_export]
