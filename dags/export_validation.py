"""export_validation: six assertions on the export metrics, after every export_batch run.

Triggered by ``export_batch`` when all its exports are done (whatever their outcome, so failures
count against the success rate). It scrapes the StatsD->Prometheus bridge, runs
:func:`airflow_export.validation.run_assertions`, writes evidence under
``$AIRFLOW_HOME/evidence/<run_id>/`` and fails with the table when any assertion fails.

The bridge URL comes from ``AIRFLOW_EXPORT_METRICS_URL`` (default ``http://127.0.0.1:9102/metrics``).
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, Param, task

from airflow_export.names import METRICS_URL_DEFAULT, METRICS_URL_ENV

with DAG(
    dag_id="export_validation",
    description="Assert coverage, P95 latency, success rate, concurrency, queue depth and bytes on the export metrics",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["export", "metrics"],
    params={
        "export_folder": Param(
            "", type="string", title="Export folder",
            description="Folder (relative to the export root) whose files are listed in the evidence.",
        ),
    },
) as dag:

    @task
    def validate(params: dict | None = None, run_id: str | None = None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_export.destinations import export_root
        from airflow_export.validation import format_table, run_assertions
        from airflow_export.validation.cli import read_exposition
        from airflow_export.validation.evidence import list_exports, write_evidence

        url = os.environ.get(METRICS_URL_ENV, METRICS_URL_DEFAULT)
        exposition = read_exposition(url=url)
        results = run_assertions(exposition)
        root = export_root()
        folder = os.path.join(root.path, params["export_folder"]) if params.get("export_folder") else root.path
        evidence = write_evidence(
            os.path.join(os.environ["AIRFLOW_HOME"], "evidence", run_id), exposition, results,
            list_exports(folder, root.conn_id),  # a folder, or objects below an s3:// export root
        )
        table = format_table(results)
        print(table)
        print(f"evidence: {evidence}")
        if not all(r.passed for r in results):
            raise AirflowFailException(f"export metrics assertions failed:\n{table}")
        return [r.as_dict() for r in results]

    validate()
