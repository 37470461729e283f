"""Tests of the benchmark's arithmetic: medians, paired ratios, targets, table rows, data sizing.

Run with ``.venv/bin/python -m pytest bench/tests`` (not part of ``make test``: bench/ is not in
the project's testpaths). Fast: no database, no subprocess.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import airflow_bench  # noqa: E402
import data  # noqa: E402
import report  # noqa: E402


def run(
    rows: int, seconds: float, *, bytes_: int = 0, base: int = 20_000_000, peak: int = 30_000_000, cpu: float = 0.0
) -> dict:
    return {
        "rows": rows,
        "seconds": seconds,
        "bytes": bytes_,
        "rss_base_bytes": base,
        "rss_peak_bytes": peak,
        "cpu_seconds": cpu,
    }


def group(name: str, rows: int, entries: dict[str, list[dict]], extra: dict | None = None) -> dict:
    return {
        "name": name,
        "title": name,
        "rows": rows,
        "pairs": [],
        "entries": [
            {
                "key": k,
                "approach": k,
                "label": k,
                "ours": k.startswith("ours"),
                "extra": (extra or {}).get(k, {}),
                "runs": runs,
                "skipped": None,
            }
            for k, runs in entries.items()
        ],
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [([3.0], 3.0), ([1.0, 2.0, 9.0], 2.0), ([4.0, 1.0, 3.0, 2.0], 2.5), ([5.0, 5.0, 1.0], 5.0)],
)
def test_median(values, expected):
    assert report.median(values) == expected


def test_median_of_nothing_raises():
    with pytest.raises(ValueError, match="median of no values"):
        report.median([])


def test_summarise_takes_medians_of_each_measure():
    runs = [
        run(1000, 2.0, bytes_=4_000_000, peak=50_000_000, cpu=1.5),
        run(1000, 1.0, bytes_=4_000_000, peak=40_000_000, cpu=0.5),
        run(1000, 4.0, bytes_=4_000_000, peak=60_000_000, cpu=3.0),
    ]
    s = report.summarise(runs)
    assert (s.runs, s.rows, s.seconds) == (3, 1000, 2.0)
    assert s.rows_per_second == 500.0
    assert s.mb_per_second == 2.0
    assert s.rss_peak_mb == 50.0
    assert s.rss_growth_mb == 30.0
    assert s.cpu_seconds == 1.5


def test_summarise_rejects_mixed_row_counts():
    with pytest.raises(ValueError, match=r"different row counts: \[10, 20\]"):
        report.summarise([run(10, 1.0), run(20, 1.0)])


@pytest.mark.parametrize(
    ("ours", "peer", "value", "low", "high"),
    [
        ([1.0], [2.0], 2.0, 2.0, 2.0),
        ([1.0, 2.0, 1.0], [2.0, 2.0, 4.0], 2.0, 1.0, 4.0),
        ([4.0, 4.0], [1.0, 3.0], 0.5, 0.25, 0.75),
    ],
)
def test_paired_ratio_is_the_median_of_per_round_speed_ratios(ours, peer, value, low, high):
    r = report.paired_ratio([run(100, s) for s in ours], [run(100, s) for s in peer])
    assert (r.value, r.low, r.high, r.rounds) == (value, low, high, len(ours))


def test_paired_ratio_without_rounds_raises():
    with pytest.raises(ValueError, match="no paired rounds"):
        report.paired_ratio([], [run(1, 1.0)])


def test_csv_targets_judge_the_thresholds():
    groups = {
        "csv_big": group(
            "csv_big",
            1000,
            {
                "fetch_only": [run(1000, 0.5)] * 3,
                "bare_writerows": [run(1000, 1.0)] * 3,
                "gcs_rowwise": [run(1000, 5.0)] * 3,
                "pandas_sql_to_s3": [run(1000, 1.9)] * 3,
                "ours_csv": [run(1000, 1.2, peak=45_000_000)] * 3,
                "ours_operator_csv": [run(1000, 1.5)] * 3,
            },
        ),
        "csv_write_only": group(
            "csv_write_only", 1000, {"bare_write_only": [run(1000, 1.0)] * 3, "ours_write_only": [run(1000, 1.3)] * 3}
        ),
        "csv_huge": group("csv_huge", 10_000, {"ours_csv": [run(10_000, 12.0, peak=48_000_000)]}),
    }
    lines = [t.line() for t in report.csv_targets(groups)]
    assert lines == [
        "PASS         CSV ours vs bare writerows, fetch+write, 1,000 rows (THE target): 0.83x (rounds 0.83-0.83, n=3) "
        "(target: ours/peer >= 0.8x)",
        "FAIL         CSV ours vs bare writerows, write-only on prefetched batches, 1,000 rows: 0.77x (rounds 0.77-0.77, n=3) "
        "(target: ours/peer >= 0.8x)",
        "FAIL         CSV ours vs pandas read_sql+to_csv, 1,000 rows: 1.58x (rounds 1.58-1.58, n=3) (target: ours/peer >= 2x)",
        "INFO         CSV ours vs BaseSQLToGCSOperator-style row loop, 1,000 rows: 4.17x (rounds 4.17-4.17, n=3) "
        "(target: informational)",
        "INFO         CSV ours / fetch-only (share of the source's speed), 1,000 rows: 0.42x (rounds 0.42-0.42, n=3) "
        "(target: informational)",
        "INFO         CSV operator / write_csv (operator overhead), 1,000 rows: 0.80x (rounds 0.80-0.80, n=3) "
        "(target: informational)",
        "PASS         CSV ours peak RSS: 1,000 rows 45.0 MB, 10,000 rows 48.0 MB (target: <= 100 MB at every size)",
        "PASS         CSV ours peak RSS 10,000 rows vs 1,000 rows: 48.0 MB vs 45.0 MB (+6.7%) (target: within 10 %)",
    ]
    failed = [t.profile for t in report.csv_targets(groups) if t.status == "FAIL"]
    assert failed == [("ours_write_only", "csv_write_only"), ("ours_csv", "csv_big")]


def test_csv_targets_without_runs_are_not_measured():
    statuses = [t.status for t in report.csv_targets({})]
    assert statuses == ["NOT MEASURED"] * 3 + ["NOT MEASURED"] * 3 + ["NOT MEASURED", "NOT MEASURED"]


def test_pdf_targets_time_per_row_rss_slope_and_rolling():
    groups = {
        "pdf_mid": group(
            "pdf_mid",
            10_000,
            {
                "rl_table_per_page": [run(10_000, 10.0)],
                "rl_longtable": [run(10_000, 20.0)],
                "ours_pdf": [run(10_000, 1.0, peak=80_000_000)],
            },
        ),
        "pdf_big": group(
            "pdf_big",
            100_000,
            {"rl_table_per_page": [run(100_000, 40.0)], "ours_pdf": [run(100_000, 12.5, peak=125_000_000)]},
        ),
        "pdf_memory": group(
            "pdf_memory",
            100_000,
            {
                "ours_pdf_one_file": [run(20_000, 2.0, peak=90_000_000)],
                "ours_pdf_rolled": [run(100_000, 10.0, peak=100_000_000)],
            },
            extra={"ours_pdf_rolled": {"max_rows_per_file": 20_000}},
        ),
    }
    lines = [t.line() for t in report.pdf_targets(groups)]
    assert lines == [
        "PASS         PDF ours vs platypus Table per page, 10,000 rows: 10.00x (rounds 10.00-10.00, n=1) (target: ours/peer >= 10x)",
        "FAIL         PDF ours vs platypus Table per page, 100,000 rows: 3.20x (rounds 3.20-3.20, n=1) (target: ours/peer >= 5x)",
        "INFO         PDF ours vs platypus LongTable, 10,000 rows: 20.00x (rounds 20.00-20.00, n=1) (target: informational)",
        "FAIL         PDF ours time per row, 100,000 rows vs 10,000 rows: 125.0 us vs 100.0 us (+25.0%) (target: at most 20 % "
        "slower, one-sided: faster per row at size is fixed cost amortised)",
        "PASS         PDF ours RSS growth within one file: 0.500 MB per 1k rows (80.0 MB at 10,000, 125.0 MB at 100,000) "
        "(target: <= 0.5 MB per 1k rows)",
        "FAIL         PDF ours RSS bounded by rolling (100,000 rows, max_rows_per_file=20,000): 100.0 MB vs 90.0 MB for one "
        "20,000-row file (+11.1%) (target: <= 1.1 x one file of the rolling size)",
    ]


def test_pdf_stream_targets_peak_flatness_time_per_row_validity_and_peers():
    mb = report.MB
    big = run(1_000_000, 125.0, peak=int(66 * mb), cpu=110.0)
    big["verify"] = {"qpdf_ok": True, "pages": 20_000, "expected_pages": 20_000, "last_row_found": True,
                     "footer": "Page 20000 of 20000"}
    groups = {
        "pdf_stream_10k": group("pdf_stream_10k", 10_000, {
            "ours_pdf": [run(10_000, 1.0, peak=int(59 * mb))],
            "rl_table_per_page": [run(10_000, 12.0, peak=int(150 * mb))],
            "fpdf2_cells": [run(10_000, 6.0, peak=int(140 * mb))],
        }),
        "pdf_stream_100k": group(
            "pdf_stream_100k", 100_000, {"ours_pdf": [run(100_000, 10.0, peak=int(61 * mb), cpu=10.0)]}
        ),
        "pdf_stream_1m": group("pdf_stream_1m", 1_000_000, {"ours_pdf": [big]}),
    }
    lines = [t.line() for t in report.pdf_stream_targets(groups)]
    peaks = "59.0 MB at 10,000, 61.0 MB at 100,000, 66.0 MB at 1,000,000"
    assert lines == [
        f"PASS         PDF one file, peak RSS at every size: {peaks} (target: <= 100 MB)",
        f"FAIL         PDF one file, peak RSS at every size (aim, Latin-only data): {peaks} (target: <= 60 MB)",
        "FAIL         PDF one file, peak RSS 1,000,000 vs 10,000 rows: 66.0 MB vs 59.0 MB (+11.9%) (target: within 10 %)",
        "FAIL         PDF one file, time per row 1,000,000 vs 100,000 rows: 125.0 us vs 100.0 us (+25.0%); "
        "CPU 110.0 us vs 100.0 us (+10.0%) (target: within 20 %, wall time)",
        "PASS         PDF 1,000,000-row file valid: qpdf --check ok, 20,000 pages of 20,000, last row found by pypdf "
        "(Page 20000 of 20000) (target: qpdf passes, every page, pypdf extracts the last row)",
        "INFO         PDF one file ours vs platypus Table per page, 10,000 rows: speed 12.00x (rounds 12.00-12.00, n=1); "
        "peak RSS 59.0 MB vs 150.0 MB (target: informational)",
        "INFO         PDF one file ours vs fpdf2, 10,000 rows: speed 6.00x (rounds 6.00-6.00, n=1); "
        "peak RSS 59.0 MB vs 140.0 MB (target: informational)",
    ]
    assert [t.status for t in report.pdf_stream_targets({})] == ["NOT MEASURED"]


def test_group_table_row_and_skipped_row():
    g = group("pdf_big", 1000, {"ours_pdf": [run(1000, 0.5, bytes_=2_000_000, cpu=0.4)]})
    g["entries"].append(
        {
            "key": "rl_longtable",
            "approach": "rl_longtable",
            "label": "LongTable",
            "ours": False,
            "extra": {},
            "runs": [],
            "skipped": "quadratic",
        }
    )
    assert report.group_table(g).splitlines()[2:] == [
        "| **ours_pdf** | ours_pdf | 1 | 0.500 | 2,000 | 4.0 | 30.0 | 10.0 | 0.40 |",
        "| rl_longtable | LongTable | 0 | skipped: quadratic |  |  |  |  |  |",
    ]


@pytest.mark.parametrize(
    ("rows", "copies", "table"),
    [
        (1, 1, "flights"),
        (336_776, 1, "flights"),
        (336_777, 2, "flights_x2"),
        (1_000_000, 3, "flights_x3"),
        (10_000_000, 30, "flights_x30"),
    ],
)
def test_copies_and_table_for_a_size(rows, copies, table):
    assert data.copies_for(rows) == copies
    assert data.table_for(rows) == table


def test_histogram_delta_of_two_scrapes():
    before = {"csv": {"count": 2.0, "sum": 0.3, "buckets": [(0.1, 1.0), (0.25, 2.0), (float("inf"), 2.0)]}}
    after = {
        "csv": {"count": 6.0, "sum": 1.1, "buckets": [(0.1, 3.0), (0.25, 6.0), (float("inf"), 6.0)]},
        "pdf": {"count": 0.0, "sum": 0.0, "buckets": []},
    }
    delta = airflow_bench.histogram_delta(before, after)
    assert delta["csv"]["count"] == 4
    assert delta["csv"]["mean_seconds"] == pytest.approx(0.2)
    # 4 observations: 2 in (0, 0.1], 2 in (0.1, 0.25]; p50 = rank 2 = the top of the first bucket.
    assert delta["csv"]["p50_seconds"] == pytest.approx(0.1)
    assert delta["csv"]["p95_seconds"] == pytest.approx(0.1 + 0.15 * (3.8 - 2) / 2)
    assert delta["pdf"] == {"count": 0, "mean_seconds": None, "p50_seconds": None, "p95_seconds": None}


def test_paired_ratio_also_gives_the_cpu_ratio():
    ours = [run(100, 2.0, cpu=1.0), run(100, 3.0, cpu=1.0), run(100, 2.0, cpu=2.0)]
    peer = [run(100, 2.0, cpu=0.5), run(100, 3.0, cpu=1.0), run(100, 4.0, cpu=1.0)]
    r = report.paired_ratio(ours, peer)
    assert (r.value, r.low, r.high) == (1.0, 1.0, 2.0)
    assert r.cpu_value == 0.5  # per round 0.5, 1.0, 0.5
    assert r.text() == "1.00x (rounds 1.00-2.00, n=3; CPU 0.50x)"


def test_pdf_marginal_time_per_row_takes_out_the_fixed_cost():
    # 0.1 s fixed + 30 us a row at 1k->10k, 33 us a row at 10k->100k: +10 %, PASS; raw per-row
    # times fall with size (the fixed cost), and the two-sided raw line still says so.
    groups = {
        "pdf_small": group("pdf_small", 1_000, {"ours_pdf": [run(1_000, 0.13)]}),
        "pdf_mid": group("pdf_mid", 10_000, {"ours_pdf": [run(10_000, 0.40)]}),
        "pdf_big": group("pdf_big", 100_000, {"ours_pdf": [run(100_000, 3.37)]}),
    }
    lines = [t.line() for t in report.pdf_targets(groups)]
    assert lines[3] == (
        "PASS         PDF ours time per row, 100,000 rows vs 10,000 rows: 33.7 us vs 40.0 us (-15.8%) (target: at most "
        "20 % slower, one-sided: faster per row at size is fixed cost amortised)"
    )
    assert lines[4] == (
        "PASS         PDF ours no super-linear growth, marginal time per row 10,000->100,000 vs 1,000->10,000: "
        "33.0 us vs 30.0 us (+10.0%; raw time per row in us at 1,000: 130.0, 10,000: 40.0, 100,000: 33.7) "
        "(target: <= 1.2 x, one-sided)"
    )
    groups["pdf_big"] = group("pdf_big", 100_000, {"ours_pdf": [run(100_000, 4.0)]})  # 40 us a row: +33 %
    target = report.pdf_targets(groups)[4]
    assert target.status == "FAIL" and target.profile == ("ours_pdf", "pdf_big")


def test_pdf_time_per_row_check_is_one_sided():
    # 100k rows 25 % faster per row than 10k (the fixed cost and the cell cache amortised): PASS;
    # 25 % slower: FAIL, and the approach is profiled.
    groups = {
        "pdf_mid": group("pdf_mid", 10_000, {"ours_pdf": [run(10_000, 0.20)]}),
        "pdf_big": group("pdf_big", 100_000, {"ours_pdf": [run(100_000, 1.50)]}),
    }
    faster = report.pdf_targets(groups)[3]
    assert faster.status == "PASS" and "(-25.0%)" in faster.line()
    groups["pdf_big"] = group("pdf_big", 100_000, {"ours_pdf": [run(100_000, 2.50)]})
    slower = report.pdf_targets(groups)[3]
    assert slower.status == "FAIL" and "(+25.0%)" in slower.line() and slower.profile == ("ours_pdf", "pdf_big")
