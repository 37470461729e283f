"""Test-only DAG (end-to-end tests): an Airflow retry after a failure in the middle of an export.

``e2e_retry_mid_export`` exports the first 60,000 ``flights`` rows (CSV) and 3,000 (PDF) from
the demo database. On their first try the sources fail after half of the rows, once those rows
have reached the temporary file (the log lists the directory at that moment); Airflow retries
(``retries=1``) and the second try must give exactly the file that an export without failure
gives (``reference_*`` tasks, same query, same options).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os

import pendulum
from airflow.sdk import DAG

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.sources.base import RowSource

DEMO_CONN = "export_demo_db"
OUT = "e2e/retry/{{ run_id }}"


class FailOnFirstTry:
    """Mixin: on try 1 the source raises after ``fail_after`` rows (the rows before it are written)."""

    fail_after = 0

    def execute(self, context):
        self._failing = context["ti"].try_number == 1
        return super().execute(context)

    @contextlib.contextmanager
    def open_source(self):
        with super().open_source() as source:
            if not self._failing:
                yield source
                return
            yield RowSource(source.columns, self._fail_midway(source.rows), source.description)

    def _fail_midway(self, rows):
        target_dir = os.path.dirname(self.resolve_output_path())
        for n, row in enumerate(rows, start=1):
            yield row
            if n == self.fail_after:
                names = sorted(os.listdir(target_dir))
                listing = {name: os.path.getsize(os.path.join(target_dir, name)) for name in names}
                self.log.info("directory at the injected failure: %s", listing)
                raise RuntimeError(f"injected failure after {n} rows")


class FlakyCsv(FailOnFirstTry, ExportCsvOperator):
    fail_after = 30_000


class FlakyPdf(FailOnFirstTry, ExportPdfOperator):
    fail_after = 1_500


with DAG(dag_id="e2e_retry_mid_export", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         catchup=False, tags=["e2e-test"],
         default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=1)}) as dag:
    csv_sql = "SELECT * FROM flights ORDER BY rowid LIMIT 60000"
    pdf_sql = "SELECT year, month, day, carrier, flight, origin, dest, dep_delay FROM flights ORDER BY rowid LIMIT 3000"
    FlakyCsv(task_id="csv", conn_id=DEMO_CONN, sql=csv_sql, output_path=f"{OUT}/flights.csv")
    ExportCsvOperator(task_id="reference_csv", conn_id=DEMO_CONN, sql=csv_sql, output_path=f"{OUT}/reference.csv")
    FlakyPdf(task_id="pdf", conn_id=DEMO_CONN, sql=pdf_sql, output_path=f"{OUT}/flights.pdf", title="flights")
    ExportPdfOperator(task_id="reference_pdf", conn_id=DEMO_CONN, sql=pdf_sql, output_path=f"{OUT}/reference.pdf",
                      title="flights")
