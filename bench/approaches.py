"""The benchmark's approaches, each run in a process of its own.

``python bench/approaches.py '<json spec>'`` runs ONE approach once and prints one JSON line
on stdout::

    {"approach": "ours_csv", "rows": 1000000, "bytes": 103000000, "files": 1,
     "seconds": 4.1, "cpu_seconds": 3.9, "rss_base_bytes": ..., "rss_peak_bytes": ...,
     "setup_seconds": 0.05}

* ``seconds``: wall time of the measured work only (``time.perf_counter``), i.e. from opening the
  source to the closed output file; interpreter start-up and imports are not in it
  (``setup_seconds`` says how long the imports and set-up before it took).
* ``cpu_seconds``: user + system CPU time of this process over the same span (``getrusage``).
* ``rss_peak_bytes``: this process's peak resident set size, ``VmHWM`` of ``/proc/self/status``
  (the high-water mark of this process's own address space; ``ru_maxrss`` can carry the
  parent's high-water mark over a ``vfork``/``exec``). ``rss_base_bytes``: the resident set
  size (``VmRSS``) right before the measured work, after the imports.
* ``bytes``: size of the output file(s) on disk; the outputs are deleted afterwards.

Spec keys: ``approach`` (a key of :data:`APPROACHES`), ``db`` (SQLite file), ``table``,
``rows`` (rows to export, ``SELECT * FROM table LIMIT rows``), ``out_dir``; optional
``prefetch`` (write-only approaches: rows fetched into memory before the clock starts, then
written over and over until ``rows`` are written), ``max_rows_per_file`` (``ours_pdf``),
``profile`` (a path: run under :mod:`cProfile` and dump the stats there), ``keep`` (true: leave
the output files in place, e.g. to look at them).

Every approach reads the same query, ``SELECT * FROM <table> LIMIT <rows>``, from SQLite; the
PostgreSQL section's (``bench/pg_bench.py``) from the tests' PostgreSQL server (spec ``dsn``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import resource
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

FETCH_SIZE = 1000
#: PDF layout shared with ours: A4 landscape, 24 pt margins, 6 pt body font (what ours picks for
#: 50 rows a page), 9 pt title, 50 rows a page, padding 0.25 em above/below and 0.4 em left/right.
PDF_ROWS_PER_PAGE = 50
PDF_MARGIN = 24.0
PDF_FONT_SIZE = 6.0
PDF_TITLE_SIZE = 9.0
PDF_TITLE = "flights"
#: ``LongTable`` is quadratic in the rows: never run it above this many rows.
LONGTABLE_MAX_ROWS = 20_000


@dataclass(frozen=True)
class Approach:
    """One way of exporting the query.

    :param name: key used on the command line and in the results.
    :param kind: ``"csv"``, ``"csv_write_only"`` or ``"pdf"``.
    :param ours: True for airflow-export's own code.
    :param label: short description for the tables.
    :param run: ``run(spec) -> (rows, [output paths])``; the clock runs around it.
    """

    name: str
    kind: str
    ours: bool
    label: str
    run: Callable[[dict], tuple[int, list[str]]]
    setup: Callable[[dict], dict] | None = None


# ----------------------------------------------------------------------------- measuring


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def query(spec: dict) -> str:
    """The one query every approach runs."""
    return f"SELECT * FROM {spec['table']} LIMIT {int(spec['rows'])}"


def _connect(spec: dict) -> sqlite3.Connection:
    return sqlite3.connect(spec["db"])


def _out(spec: dict, suffix: str) -> str:
    return os.path.join(spec["out_dir"], f"{spec['approach']}{suffix}")


class _SqliteHook:
    """The least a DB-API hook needs for ``airflow_export.sources.sql.sql_rows``: ``get_conn()``."""

    def __init__(self, db: str) -> None:
        self.db = db

    def get_conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db)


# ----------------------------------------------------------------------------- CSV


def fetch_only(spec: dict) -> tuple[int, list[str]]:
    """The source alone: ``fetchmany(1000)`` until empty, rows discarded (the upper limit)."""
    conn = _connect(spec)
    cursor = conn.cursor()
    cursor.execute(query(spec))
    n = 0
    while batch := cursor.fetchmany(FETCH_SIZE):
        n += len(batch)
    conn.close()
    return n, []


def bare_writerows(spec: dict) -> tuple[int, list[str]]:
    """stdlib ``csv.writer(...).writerows(batch)`` on each fetched batch; no conversion at all."""
    path = _out(spec, ".csv")
    conn = _connect(spec)
    cursor = conn.cursor()
    cursor.execute(query(spec))
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([d[0] for d in cursor.description])
        while batch := cursor.fetchmany(FETCH_SIZE):
            writer.writerows(batch)
            n += len(batch)
    conn.close()
    return n, [path]


def _gcs_convert_type(value: Any, schema_type: str | None, stringify_dict: bool = True) -> Any:
    """The per-value conversion of Airflow's ``PostgresToGCSOperator.convert_type`` (isinstance chain)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value) if stringify_dict else value
    if isinstance(value, Decimal):
        return float(value)
    return value


def gcs_rowwise(spec: dict) -> tuple[int, list[str]]:
    """Airflow's ``BaseSQLToGCSOperator._write_local_data_files`` for CSV, minus the upload.

    ``for row in cursor``; per row ``convert_types`` (one ``convert_type`` call per value with
    ``col_type_dict.get(name)``), ``csv_writer.writerow(row)`` into a text-mode temporary file,
    then the per-row file size check (``tell``/``seek``/``tell``/``seek``) against
    ``approx_max_file_size_bytes`` (1.9 GB by default), as that method does.
    """
    path = _out(spec, ".csv")
    conn = _connect(spec)
    cursor = conn.cursor()
    cursor.execute(query(spec))
    schema = [d[0] for d in cursor.description]
    col_type_dict: dict[str, str] = {}
    approx_max_file_size_bytes = 1_900_000_000
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        csv_writer = csv.writer(fh, delimiter=",")
        csv_writer.writerow(schema)
        for row in cursor:
            n += 1
            row2 = [
                _gcs_convert_type(value, col_type_dict.get(name), stringify_dict=True)
                for name, value in zip(schema, row, strict=True)
            ]
            csv_writer.writerow(row2)
            fppos = fh.tell()
            fh.seek(0, os.SEEK_END)
            file_size = fh.tell()
            fh.seek(fppos, os.SEEK_SET)
            if file_size >= approx_max_file_size_bytes:  # never at these sizes
                raise RuntimeError("file size limit reached")
    conn.close()
    return n, [path]


def _fix_dtypes(df: Any) -> None:
    """``SqlToS3Operator._fix_dtypes`` for CSV: float columns with NaN holding only whole
    numbers become ``Int64`` (so ``517.0`` is written ``517``), others ``Float64``."""
    import numpy as np
    import pandas as pd

    for col in df:
        if "float" in df[col].dtype.name and df[col].hasnans:
            notna_series = df[col].dropna().values
            if np.equal(notna_series, notna_series.astype(int)).all():
                df[col] = np.where(df[col].isnull(), None, df[col])
                df[col] = df[col].astype(pd.Int64Dtype())
            elif np.isclose(notna_series, notna_series.astype(int)).all():
                df[col] = np.where(df[col].isnull(), None, df[col])
                df[col] = df[col].astype(pd.Float64Dtype())


def pandas_sql_to_s3(spec: dict) -> tuple[int, list[str]]:
    """Airflow's ``SqlToS3Operator.execute`` for CSV, with a local file in place of S3.

    ``DbApiHook.get_df`` is ``pandas.io.sql.read_sql(sql, con=sqlite3 connection)`` (no
    chunksize: the whole result becomes one DataFrame, as the operator does), then
    ``_fix_dtypes``, then ``df.to_csv`` into a ``TextIOWrapper`` over an in-memory
    ``BytesIO``; the buffer is then written to a file where the operator uploads it.
    ``pd_kwargs={"index": False}`` (the operator's default ``{}`` would add the index column).
    """
    from pandas.io import sql as psql

    path = _out(spec, ".csv")
    conn = _connect(spec)
    try:
        df = psql.read_sql(query(spec), con=conn, params=None)
    finally:
        conn.close()
    _fix_dtypes(df)
    buf = io.BytesIO()
    text_buf = io.TextIOWrapper(buf, encoding="utf-8", write_through=True)
    df.to_csv(text_buf, index=False)
    text_buf.flush()
    buf.seek(0)
    with open(path, "wb") as fh:  # the stand-in for S3Hook.load_file_obj
        fh.write(buf.getbuffer())
    return len(df), [path]


def ours_csv(spec: dict) -> tuple[int, list[str]]:
    """``write_csv`` fed by ``airflow_export.sources.sql.sql_rows`` (``fetchmany(1000)``) with
    a minimal hook (``get_conn()`` -> ``sqlite3.connect``); default options."""
    from airflow_export.sources.sql import sql_rows
    from airflow_export.writers.csv import write_csv

    path = _out(spec, ".csv")
    with sql_rows(_SqliteHook(spec["db"]), query(spec), fetch_size=FETCH_SIZE) as source:
        result = write_csv(source.rows, path, columns=source.columns)
    return result.records, [f.path for f in result.files]


def _operator_setup(spec: dict) -> dict:
    """Import Airflow and build the operator (not timed); the connection comes from an env var."""
    os.environ["AIRFLOW_CONN_BENCH_DB"] = json.dumps({"conn_type": "sqlite", "host": spec["db"]})
    from airflow_export.operators.export import ExportCsvOperator

    op = ExportCsvOperator(
        task_id="bench_csv",
        conn_id="bench_db",
        sql=query(spec),
        output_path=f"{spec['approach']}.csv",
        export_root=spec["out_dir"],
    )
    return {"operator": op}


def ours_operator_csv(spec: dict) -> tuple[int, list[str]]:
    """``ExportCsvOperator(conn_id=..., sql=...).execute({})``: the connection from
    ``AIRFLOW_CONN_BENCH_DB`` (``sqlite``), its ``SqliteHook``, ``sql_rows``, ``write_csv``,
    metrics calls (StatsD off, so no-ops), progress logging. Airflow's import and the
    operator's construction are set-up, not timed."""
    meta = spec["_setup"]["operator"].execute({})
    return meta["records"], [f["path"] for f in meta["files"]]


def _prefetched_batches(spec: dict) -> tuple[list[str], list[list[tuple]]]:
    conn = _connect(spec)
    cursor = conn.cursor()
    cursor.execute(f"SELECT * FROM {spec['table']} LIMIT {int(spec['prefetch'])}")
    columns = [d[0] for d in cursor.description]
    batches = []
    while batch := cursor.fetchmany(FETCH_SIZE):
        batches.append(batch)
    conn.close()
    return columns, batches


def _cycle_batches(batches: list[list[tuple]], rows: int) -> Iterator[list[tuple]]:
    """The prefetched batches over and over, ``rows`` rows in all (the last batch cut)."""
    left = rows
    while left > 0:
        for batch in batches:
            if left <= 0:
                return
            if len(batch) > left:
                batch = batch[:left]
            left -= len(batch)
            yield batch


def _write_only_setup(spec: dict) -> dict:
    columns, batches = _prefetched_batches(spec)
    return {"columns": columns, "batches": batches}


def bare_write_only(spec: dict) -> tuple[int, list[str]]:
    """``writerows`` on prefetched in-memory batches (no database in the timed part)."""
    setup = spec["_setup"]
    path = _out(spec, ".csv")
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(setup["columns"])
        for batch in _cycle_batches(setup["batches"], int(spec["rows"])):
            writer.writerows(batch)
            n += len(batch)
    return n, [path]


def ours_write_only(spec: dict) -> tuple[int, list[str]]:
    """``write_csv`` on the same prefetched in-memory batches, flattened to rows."""
    from itertools import chain

    from airflow_export.writers.csv import write_csv

    setup = spec["_setup"]
    path = _out(spec, ".csv")
    rows = chain.from_iterable(_cycle_batches(setup["batches"], int(spec["rows"])))
    result = write_csv(rows, path, columns=setup["columns"])
    return result.records, [f.path for f in result.files]


# ----------------------------------------------------------------------------- PDF


def _platypus_parts() -> dict:
    """Document template, table style and font shared by both platypus peers (same page as ours)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, TableStyle

    from airflow_export.writers.pdf.fonts import find_font_path

    font_name = "BenchUnicode"
    if font_name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font_name, find_font_path()))
    width, height = landscape(A4)
    title_block = 1.5 * PDF_TITLE_SIZE
    footer_block = 2 * PDF_FONT_SIZE
    fs = PDF_FONT_SIZE

    def decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font_name, PDF_TITLE_SIZE)
        canvas.drawString(PDF_MARGIN, height - PDF_MARGIN - PDF_TITLE_SIZE, PDF_TITLE)
        canvas.setFont(font_name, fs)
        canvas.drawRightString(width - PDF_MARGIN, PDF_MARGIN + fs / 2, f"Page {doc.page}")
        canvas.restoreState()

    def make_doc(path: str) -> Any:
        doc = BaseDocTemplate(
            path,
            pagesize=(width, height),
            title=PDF_TITLE,
            leftMargin=PDF_MARGIN,
            rightMargin=PDF_MARGIN,
            topMargin=PDF_MARGIN + title_block,
            bottomMargin=PDF_MARGIN + footer_block,
        )
        frame = Frame(
            doc.leftMargin,
            doc.bottomMargin,
            doc.width,
            doc.height,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="body",
        )
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=decorate)])
        return doc

    style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font_name),
            ("FONTSIZE", (0, 0), (-1, -1), fs),
            ("LEADING", (0, 0), (-1, -1), 1.2 * fs),
            ("TOPPADDING", (0, 0), (-1, -1), 0.25 * fs),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0.25 * fs),
            ("LEFTPADDING", (0, 0), (-1, -1), 0.4 * fs),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0.4 * fs),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.Color(0.6, 0.6, 0.6)),
            ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.85, 0.85, 0.85)),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.Color(0.95, 0.95, 0.95)]),
        ]
    )
    return {"make_doc": make_doc, "style": style}


def _string_rows(spec: dict) -> tuple[list[str], list[list[str]]]:
    """The query's rows as plain strings (``str(v)``, ``""`` for NULL), as a peer would pass them."""
    conn = _connect(spec)
    cursor = conn.cursor()
    cursor.execute(query(spec))
    header = [d[0] for d in cursor.description]
    rows = [["" if v is None else str(v) for v in row] for row in cursor]
    conn.close()
    return header, rows


def rl_longtable(spec: dict) -> tuple[int, list[str]]:
    """ReportLab platypus, one ``LongTable(header + all rows, repeatRows=1)`` (quadratic: the
    table is split page by page, each split re-laying out the rest)."""
    from reportlab.platypus import LongTable

    if int(spec["rows"]) > LONGTABLE_MAX_ROWS:
        raise ValueError(f"rl_longtable is not run above {LONGTABLE_MAX_ROWS} rows")
    parts = _platypus_parts()
    path = _out(spec, ".pdf")
    header, rows = _string_rows(spec)
    table = LongTable([header, *rows], repeatRows=1, style=parts["style"])
    parts["make_doc"](path).build([table])
    return len(rows), [path]


def rl_table_per_page(spec: dict) -> tuple[int, list[str]]:
    """ReportLab platypus, one ``Table(header + 50 rows)`` per page followed by ``PageBreak``
    (automatic column widths, plain string cells)."""
    from reportlab.platypus import PageBreak, Table

    parts = _platypus_parts()
    path = _out(spec, ".pdf")
    header, rows = _string_rows(spec)
    story: list[Any] = []
    for start in range(0, len(rows), PDF_ROWS_PER_PAGE):
        if story:
            story.append(PageBreak())
        story.append(Table([header, *rows[start : start + PDF_ROWS_PER_PAGE]], style=parts["style"]))
    parts["make_doc"](path).build(story)
    return len(rows), [path]


def fpdf2_cells(spec: dict) -> tuple[int, list[str]]:
    """fpdf2 (a second PDF library): the same page, font and 50 rows a page, rows streamed from
    ``fetchmany(1000)``, one ``cell`` per value, the header on every page (``header()``) and
    ``Page N of M`` (``{nb}``). fpdf2 keeps every page in memory until ``output()``."""
    from fpdf import FPDF

    from airflow_export.writers.pdf.fonts import find_font_path

    conn = _connect(spec)
    cursor = conn.cursor()
    cursor.execute(query(spec))
    names = [d[0] for d in cursor.description]
    fs = PDF_FONT_SIZE
    row_height = 1.5 * fs

    class Doc(FPDF):
        def header(self) -> None:
            self.set_font("Bench", size=PDF_TITLE_SIZE)
            self.cell(0, 1.5 * PDF_TITLE_SIZE, PDF_TITLE, new_x="LMARGIN", new_y="NEXT")
            self.set_font("Bench", size=fs)
            self.set_fill_color(217)
            for name in names:
                self.cell(width, row_height, name, border=1, fill=True)
            self.ln(row_height)

        def footer(self) -> None:
            self.set_y(-PDF_MARGIN - fs)
            self.set_font("Bench", size=fs)
            self.cell(0, fs, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = Doc(orientation="L", unit="pt", format="A4")
    pdf.set_margins(PDF_MARGIN, PDF_MARGIN, PDF_MARGIN)
    pdf.set_auto_page_break(False)
    pdf.set_title(PDF_TITLE)
    pdf.add_font("Bench", fname=find_font_path(), collection_font_number=0)
    width = (pdf.w - 2 * PDF_MARGIN) / len(names)
    pdf.set_font("Bench", size=fs)
    rows = 0
    while True:
        batch = cursor.fetchmany(FETCH_SIZE)
        if not batch:
            break
        for row in batch:
            if rows % PDF_ROWS_PER_PAGE == 0:
                pdf.add_page()
            for value in row:
                pdf.cell(width, row_height, "" if value is None else str(value), border=1)
            pdf.ln(row_height)
            rows += 1
    conn.close()
    path = _out(spec, ".pdf")
    pdf.output(path)
    return rows, [path]


def ours_pdf(spec: dict) -> tuple[int, list[str]]:
    """``write_pdf`` fed by ``sql_rows`` (``fetchmany(1000)``), 50 rows a page; ``max_rows_per_file``
    from the spec when given (``null`` = one file however long), else the writer's default."""
    from airflow_export.sources.sql import sql_rows
    from airflow_export.writers.pdf import write_pdf

    options = {}
    if "max_rows_per_file" in spec:
        options["max_rows_per_file"] = spec["max_rows_per_file"]
    path = _out(spec, ".pdf")
    with sql_rows(_SqliteHook(spec["db"]), query(spec), fetch_size=FETCH_SIZE) as source:
        result = write_pdf(
            source.rows, path, columns=source.columns, title=PDF_TITLE, rows_per_page=PDF_ROWS_PER_PAGE, **options
        )
    return result.records, [f.path for f in result.files]


def _ours_pdf_setup(spec: dict) -> dict:
    """Import the writer and load the font before the clock starts (loaded once per process)."""
    import airflow_export.writers.pdf  # noqa: F401
    from airflow_export.sources import sql  # noqa: F401
    from airflow_export.writers.pdf.fonts import find_font_path, load_font

    load_font(find_font_path())
    return {}


def _platypus_setup(spec: dict) -> dict:
    """Import platypus and register the same font before the clock starts."""
    import reportlab.platypus  # noqa: F401

    _platypus_parts()
    return {}


def _fpdf2_setup(spec: dict) -> dict:
    """Import fpdf2 before the clock starts (its font is parsed per document, inside the run)."""
    import fpdf  # noqa: F401

    return {}


def _csv_setup(spec: dict) -> dict:
    import airflow_export.sources.sql  # noqa: F401
    import airflow_export.writers.csv  # noqa: F401

    return {}


def _pandas_setup(spec: dict) -> dict:
    import pandas.io.sql  # noqa: F401

    return {}


APPROACHES: dict[str, Approach] = {
    a.name: a
    for a in [
        Approach("fetch_only", "csv", False, "source alone: fetchmany(1000), rows discarded", fetch_only),
        Approach("bare_writerows", "csv", False, "fetchmany + csv.writer.writerows, no conversion", bare_writerows),
        Approach(
            "gcs_rowwise", "csv", False, "BaseSQLToGCSOperator style: per row convert_types + writerow", gcs_rowwise
        ),
        Approach(
            "pandas_sql_to_s3",
            "csv",
            False,
            "SqlToS3Operator style: read_sql + to_csv (BytesIO)",
            pandas_sql_to_s3,
            _pandas_setup,
        ),
        Approach("ours_csv", "csv", True, "ours: sql_rows (fetchmany 1000) -> write_csv", ours_csv, _csv_setup),
        Approach(
            "ours_operator_csv",
            "csv",
            True,
            "ours: ExportCsvOperator.execute (SQLite conn)",
            ours_operator_csv,
            _operator_setup,
        ),
        Approach(
            "bare_write_only",
            "csv_write_only",
            False,
            "writerows on prefetched batches",
            bare_write_only,
            _write_only_setup,
        ),
        Approach(
            "ours_write_only",
            "csv_write_only",
            True,
            "write_csv on prefetched batches",
            ours_write_only,
            lambda spec: {**_csv_setup(spec), **_write_only_setup(spec)},
        ),
        Approach("rl_longtable", "pdf", False, "platypus: one LongTable(repeatRows=1)", rl_longtable, _platypus_setup),
        Approach(
            "rl_table_per_page", "pdf", False, "platypus: one Table per 50-row page", rl_table_per_page, _platypus_setup
        ),
        Approach("ours_pdf", "pdf", True, "ours: sql_rows -> write_pdf", ours_pdf, _ours_pdf_setup),
        Approach("fpdf2_cells", "pdf", False, "fpdf2: one cell per value, 50 rows a page", fpdf2_cells, _fpdf2_setup),
    ]
}


def _verify_pdf(spec: dict, rows: int, path: str) -> dict:
    """After the clock (peak RSS already read): ``qpdf --check`` of the one file, its page count
    and whether pypdf's text of the last page holds the last row's values."""
    import subprocess

    import pypdf

    check = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True)
    conn = _connect(spec)
    last = conn.execute(f"SELECT * FROM {spec['table']} LIMIT 1 OFFSET {rows - 1}").fetchone()
    conn.close()
    reader = pypdf.PdfReader(path)
    text = reader.pages[-1].extract_text()
    values = [str(v) for v in last if isinstance(v, str)]
    return {
        "qpdf_ok": check.returncode == 0,
        "pages": len(reader.pages),
        "expected_pages": -(-rows // PDF_ROWS_PER_PAGE),
        "last_row_values": values,
        "last_row_found": all(v in text for v in values),
        "footer": text.strip().splitlines()[-1] if text.strip() else "",
    }


import pg_bench  # noqa: E402 - the PostgreSQL section's approaches

APPROACHES.update(pg_bench.approaches(Approach))


def run_once(spec: dict) -> dict:
    """Run ``spec["approach"]`` once in this process; return the measurements (see module doc)."""
    approach = APPROACHES[spec["approach"]]
    started = time.perf_counter()
    spec = dict(spec)
    os.makedirs(spec["out_dir"], exist_ok=True)
    spec["_setup"] = approach.setup(spec) if approach.setup else {}
    setup_seconds = time.perf_counter() - started
    rss_base = _status_bytes("VmRSS")
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    rows, paths = approach.run(spec)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    rss_peak = _status_bytes("VmHWM")
    verified = _verify_pdf(spec, rows, paths[0]) if spec.get("verify") else None
    if approach.name.startswith("psql_copy"):  # the work is psql's, in a child: its own peak
        rss_peak = pg_bench.child_rss_peak_bytes()
    size = 0
    for path in paths:
        size += os.path.getsize(path)
        if not spec.get("keep"):
            os.remove(path)
    if profiler is not None:
        profiler.dump_stats(spec["profile"])
    import airflow_export

    return {
        "package": os.path.dirname(airflow_export.__file__),
        "approach": approach.name,
        "kind": approach.kind,
        "rows": rows,
        "bytes": size,
        "files": len(paths),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "setup_seconds": setup_seconds,
        "rss_base_bytes": rss_base,
        "rss_peak_bytes": rss_peak,
        "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        **({"verify": verified} if verified is not None else {}),
    }


def use_snapshot(root: str) -> None:
    """Import ``airflow_export`` from the snapshot under ``root`` instead of the working tree.

    The package is installed editable, through a meta path finder that would win over
    ``sys.path``; it is removed so the snapshot (first on ``sys.path``) is what gets imported,
    also by Airflow's plugin loading in the operator approach.
    """
    sys.path.insert(0, root)
    sys.meta_path[:] = [
        f
        for f in sys.meta_path
        if "__editable___airflow_export" not in getattr(f, "__module__", "")
        and "__editable___airflow_export" not in repr(f)
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: approaches.py '<json spec>'", file=sys.stderr)
        return 2
    snapshot = os.environ.get("BENCH_SNAPSHOT")
    if snapshot:
        use_snapshot(snapshot)
    result = run_once(json.loads(argv[0]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
