"""export_batch: the five benchmark scenarios plus five more exports, all in ``export_pool``.

Ten export tasks become ready at the same moment; the pool (5 slots) lets five run and
makes the rest wait for a slot. Scenarios: 1k, 5k and 10k CSV; 1k and 5k PDF.
When all are done, ``export_validation`` is triggered to check the metrics.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG
from demo_data import DEMO_CONN, prepare_data_task

from airflow_export import ExportCsvOperator, ExportPdfOperator
from airflow_export.names import EXPORT_POOL, EXPORT_POOL_SLOTS

RECORDS_SQL = "SELECT * FROM demo_records ORDER BY id LIMIT :n"
FLIGHTS_SQL = "SELECT * FROM flights ORDER BY year, month, day, sched_dep_time, carrier, flight LIMIT :n"
OUT = "export_batch/{{ run_id }}"

# (task_id, operator, sql, rows, extra arguments)
SCENARIOS = [
    ("csv_1k", ExportCsvOperator, RECORDS_SQL, 1_000, {}),
    ("csv_5k", ExportCsvOperator, RECORDS_SQL, 5_000, {}),
    ("csv_10k", ExportCsvOperator, RECORDS_SQL, 10_000, {}),
    ("pdf_1k", ExportPdfOperator, RECORDS_SQL, 1_000, {}),
    ("pdf_5k", ExportPdfOperator, RECORDS_SQL, 5_000, {}),
    # Further exports, so that more than five want a slot at once.
    ("csv_2k_semicolon", ExportCsvOperator, RECORDS_SQL, 2_000, {"format_options": {"delimiter": ";", "bom": True}}),
    ("csv_10k_gzip", ExportCsvOperator, RECORDS_SQL, 10_000, {"format_options": {"compression": "gzip"}}),
    ("csv_flights_20k", ExportCsvOperator, FLIGHTS_SQL, 20_000, {}),
    ("pdf_flights_1k", ExportPdfOperator, FLIGHTS_SQL, 1_000, {}),
    ("pdf_2k", ExportPdfOperator, RECORDS_SQL, 2_000, {}),
]

with DAG(
    dag_id="export_batch",
    description=f"Ten exports competing for the {EXPORT_POOL_SLOTS} slots of {EXPORT_POOL}",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["export", "demo"],
) as dag:

    ready = prepare_data_task()
    validate = TriggerDagRunOperator(
        task_id="trigger_validation",
        trigger_dag_id="export_validation",
        conf={"export_folder": OUT},
        trigger_rule="all_done",  # failed exports must count against the success rate too
        pool="default_pool",
    )
    for task_id, operator, sql, n, extra in SCENARIOS:
        suffix = ".pdf" if operator is ExportPdfOperator else ".csv.gz" if "gzip" in task_id else ".csv"
        ready >> operator(
            task_id=task_id,
            conn_id=DEMO_CONN,
            sql=sql,
            parameters={"n": n},
            output_path=f"{OUT}/{task_id}{suffix}",
            **extra,
        ) >> validate
