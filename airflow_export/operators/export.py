"""``ExportCsvOperator`` and ``ExportPdfOperator``: stream a query, XCom rows or a file into a file.

The common arguments, inputs and ``execute`` are :class:`~airflow_export.operators.base.BaseExportOperator`'s;
each operator here adds its format's arguments and its ``write``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_export.operators.assets import export_asset
from airflow_export.operators.base import RESERVED_OPTIONS, BaseExportOperator, ExportCancelled
from airflow_export.operators.progress import ProgressLogger
from airflow_export.sources.base import RowSource

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_export.writers.frame import ExportResult

__all__ = [
    "RESERVED_OPTIONS",
    "BaseExportOperator",
    "ExportCancelled",
    "ExportCsvOperator",
    "ExportPdfOperator",
    "export_asset",
]


class ExportCsvOperator(BaseExportOperator):
    """Stream a query, XCom rows or a file into a CSV file (RFC 4180), chunk by chunk.

    All parameters of :class:`BaseExportOperator`, plus:

    :param chunk_size: rows per write (default 1000); at most one chunk is held in memory.
    :param format_options: :func:`airflow_export.write_csv` options, e.g. ``delimiter``,
        ``null_marker``, ``compression="gzip"``, ``bom``, ``max_rows_per_file``.
    :param engine: how ``sql`` is read on a PostgreSQL connection: ``"auto"`` (default): with
        ``COPY (sql) TO STDOUT`` where it writes the very bytes the cursor path writes, else the
        cursor path, with one log line saying why; ``"copy"``: COPY, or fail (``ValueError``
        saying why); ``"cursor"``: a server-side cursor. The rule: docs/formats.md ("PostgreSQL:
        COPY or cursor").
        ``on_empty`` other than ``"write"`` takes the cursor path (it must see the first row first).
    :raises ValueError: an unknown ``engine``; ``engine="copy"`` without ``sql`` or with ``on_empty``
        other than ``"write"``.
    """

    export_format = "csv"
    ui_color = "#e3f2e1"
    writer_arg_names = ("chunk_size",)

    def __init__(self, *, chunk_size: int = 1000, engine: str = "auto", **kwargs: Any) -> None:
        from airflow_export.sources.postgres_copy import ENGINES

        super().__init__(**kwargs)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if engine == "copy" and self.sql is None:
            raise ValueError("engine='copy' needs sql (with conn_id on a PostgreSQL connection)")
        if engine == "copy" and self.on_empty != "write":
            raise ValueError(
                f"engine='copy' streams rows as the server sends them, so on_empty={self.on_empty!r} cannot see "
                "an empty result before writing: use engine='auto' (it takes the cursor path then) or 'cursor'"
            )
        self.chunk_size = chunk_size
        self.engine = engine
        self.validate_options(self.task_id, self.format_options, {"chunk_size": chunk_size})

    @classmethod
    def check_options(cls, format_options: dict[str, Any], chunk_size: int = 1000) -> None:
        """``chunk_size`` and ``format_options`` checked as :func:`~airflow_export.write_csv` checks them
        (pure checks, at DAG parse time: a typo is an import error, not a failed run).

        :raises TypeError: an unknown option (with the closest valid name).
        :raises ValueError: a bad value, naming the option.
        """
        from airflow_export.writers.csv import CsvOptions
        from airflow_export.writers.frame import check_positive_int

        check_positive_int("chunk_size", chunk_size)
        CsvOptions.from_kwargs(**format_options)

    @contextlib.contextmanager
    def open_source(self) -> Iterator[RowSource]:
        """As :meth:`BaseExportOperator.open_source`; for ``sql`` with ``engine`` ``"auto"`` or
        ``"copy"``, a COPY source where COPY writes the cursor path's bytes (see ``engine``)."""
        if self.sql is not None and self.engine != "cursor" and self.on_empty != "write":
            self.log.info("engine='auto': cursor path, not COPY: on_empty=%r needs to see the first row before "
                          "anything is written", self.on_empty)
        elif self.sql is not None and self.engine != "cursor":
            from airflow_export.sources.postgres_copy import copy_source

            with copy_source(self.get_db_hook(), self.sql, self.parameters, self.format_options, engine=self.engine,
                             conn_id=self.conn_id, log=self.log) as copy:
                if copy is not None:
                    yield self._with_columns(copy)
                    return
        with super().open_source() as source:
            yield source

    def write(self, source: RowSource, path: str, progress: ProgressLogger, confine_to: str | None) -> ExportResult:
        from airflow_export.writers.csv import write_csv

        if source.direct is not None:
            return source.direct(path, columns=source.columns, confine_to=confine_to, overwrite=self.overwrite,
                                 progress=progress, **self.format_options)
        return write_csv(
            source.rows, path, columns=source.columns, chunk_size=self.chunk_size, confine_to=confine_to,
            overwrite=self.overwrite, progress=progress, **self.format_options,
        )


class ExportPdfOperator(BaseExportOperator):
    """Stream a query, XCom rows or a file into a paginated PDF table, page by page.

    All parameters of :class:`BaseExportOperator`, plus:

    :param title: title printed on every page (templated); defaults to the task id.
    :param rows_per_page: table rows per page (default 50).
    :param format_options: :func:`airflow_export.write_pdf` options, e.g. ``max_rows_per_file``,
        ``page_size``, ``font_path``, ``caption``, ``key_columns``. The footer's ``run_time`` is the DAG
        run's logical date (its ``run_after`` if it has none), never the clock, so a retry writes the
        same file; ``format_options={"run_time": None}`` leaves it out.
    """

    template_fields: Sequence[str] = (*BaseExportOperator.template_fields, "title")
    export_format = "pdf"
    ui_color = "#fbe9e7"
    writer_arg_names = ("rows_per_page",)

    def __init__(self, *, title: str | None = None, rows_per_page: int = 50, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.rows_per_page = rows_per_page
        self._run_time: Any = None  # set by execute() from the DAG run
        self.validate_options(self.task_id, self.format_options, {"rows_per_page": rows_per_page})

    @classmethod
    def check_options(cls, format_options: dict[str, Any], rows_per_page: int = 50) -> None:
        """``rows_per_page``, ``format_options`` and the page size checked as
        :func:`~airflow_export.write_pdf` checks them (pure checks, at DAG parse time).

        :raises TypeError: an unknown option (with the closest valid name).
        :raises ValueError: a bad value, naming the option.
        """
        from airflow_export.writers.frame import check_positive_int
        from airflow_export.writers.pdf import PdfOptions
        from airflow_export.writers.pdf.layout import resolve_page_size

        check_positive_int("rows_per_page", rows_per_page)
        opts = PdfOptions.from_kwargs(**format_options)
        resolve_page_size(opts.page_size, bool(opts.landscape))  # None: chosen later, the size alike

    def execute(self, context: Context) -> dict[str, Any]:
        """Take the footer's time from the DAG run, then export (see :class:`BaseExportOperator`)."""
        dag_run = context.get("dag_run")
        self._run_time = context.get("logical_date") or getattr(dag_run, "run_after", None)
        return super().execute(context)

    def write(self, source: RowSource, path: str, progress: ProgressLogger, confine_to: str | None) -> ExportResult:
        from airflow_export.writers.pdf import write_pdf

        return write_pdf(
            source.rows, path, columns=source.columns, title=self.title or self.task_id, confine_to=confine_to,
            rows_per_page=self.rows_per_page, overwrite=self.overwrite, progress=progress,
            **{"run_time": self._run_time, **self.format_options},
        )
