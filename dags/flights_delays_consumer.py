"""flights_delays_consumer: runs whenever flights_export publishes a new delays CSV (Asset schedule).

It reads the Asset event's extras (path, records, bytes, sha256), checks the file (on disk, or in
object storage when the export root is ``s3://...``) against them, and reports the three carriers
with the best on-time share in the latest month.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from demo_data import FLIGHTS_DELAYS_CSV

from airflow_export import export_asset

DELAYS = export_asset(FLIGHTS_DELAYS_CSV)

with DAG(
    dag_id="flights_delays_consumer",
    description="Downstream of the flights delays CSV Asset: verify it and report",
    schedule=[DELAYS],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["export", "demo", "etl"],
) as dag:

    @task(inlets=[DELAYS])
    def verify_and_report(triggering_asset_events=None) -> dict:
        import csv
        import hashlib

        [event] = triggering_asset_events[DELAYS][-1:]
        extra = event.extra
        if "://" in extra["path"]:  # an object-storage export root (ADR 0065): read it through its connection
            from airflow.sdk import ObjectStoragePath

            from airflow_export.destinations import export_root

            data = ObjectStoragePath(extra["path"], conn_id=export_root().conn_id).read_bytes()
        else:
            with open(extra["path"], "rb") as fh:
                data = fh.read()
        if hashlib.sha256(data).hexdigest() != extra["sha256"] or len(data) != extra["bytes"]:
            raise ValueError(f"{extra['path']} does not match its Asset event (sha256/bytes)")
        rows = list(csv.DictReader(data.decode("utf-8").splitlines()))
        if len(rows) != extra["records"]:
            raise ValueError(f"{extra['path']}: {len(rows)} rows, the Asset event says {extra['records']}")
        last_month = max(int(r["month"]) for r in rows)
        best = sorted((r for r in rows if int(r["month"]) == last_month and r["on_time_share"]),
                      key=lambda r: -float(r["on_time_share"]))[:3]
        for r in best:
            print(f"month {last_month}: {r['carrier_name']} on time {float(r['on_time_share']):.1%}")
        return {"path": extra["path"], "records": len(rows), "sha256": extra["sha256"],
                "best": [r["carrier"] for r in best]}

    verify_and_report()
