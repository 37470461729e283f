"""Write the PDF sample tables shown in docs/formats.md and render their first pages as PNG.

``python -m scripts.pdf_samples docs/`` writes ``pdf-sample-*.png`` (pdftoppm, 60 dpi) there:
the demo's 1k records, 40 columns x 60 rows, 120 columns, a 4-row summary, a CJK-heavy table.
Deterministic: fixed seeds and a fixed run time, no clock.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "dags"))

from demo_data import demo_record  # noqa: E402

from airflow_export.writers.pdf import write_pdf  # noqa: E402

RUN = dt.datetime(2024, 5, 1, 6, tzinfo=dt.UTC)
RECORDS = ["id", "name", "email", "country", "amount", "quantity", "score", "active", "created_at", "notes"]


def wide(columns: int, rows: int) -> tuple[list[str], list[tuple]]:
    rng = random.Random(columns)
    names = ["customerName"] + [
        f"column_number_{c:03d}" if c % 3 == 1 else f"amountPaid{c}" if c % 3 == 2 else f"order-note {c}"
        for c in range(1, columns)
    ]
    data = [
        (f"customer {r}", *(rng.randrange(0, 99_999) if c % 3 == 1 else round(rng.uniform(0, 5000), 2)
                            if c % 3 == 2 else f"note {r}-{c}" for c in range(1, columns)))
        for r in range(rows)
    ]
    return names, data


def samples() -> dict[str, tuple[list[str], list[tuple], dict]]:
    rng = random.Random(20240101)
    cjk = [
        (i, f"東京都港区芝公園{i}丁目", f"株式会社サンプル{i}", round(i * 1234.5, 1),
         "注文は予定どおり出荷されました。" * (1 + i % 3))
        for i in range(1, 41)
    ]
    return {
        "demo-1k": (RECORDS, [demo_record(i, rng) for i in range(1, 1001)], {"title": "Demo records (1000)"}),
        "wide-40": (*wide(40, 60), {"title": "40 columns"}),
        "wide-120": (*wide(120, 30), {"title": "120 columns"}),
        "summary-4": (["region", "flightCount", "avg_delay_minutes"],
                      [("EU", 1200, 3.25), ("US", 980, 12.5), ("APAC", 45, 0.75), ("LATAM", 7, 100.0)],
                      {"title": "Daily summary", "caption": "Flights by region"}),
        "cjk": (["番号", "住所", "会社名", "金額", "備考"], cjk, {"title": "注文一覧"}),
    }


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, (columns, rows, options) in samples().items():
            pdf = Path(tmp) / f"{name}.pdf"
            write_pdf(rows, pdf, columns=columns, run_time=RUN, **options)
            subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                            str(Path(out) / f"pdf-sample-{name}")], check=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")
