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
    :raises ValueError: an unknown ``engine``; ``engine="copy"`` without ``sql``.
    """

    export_format = "csv"
    ui_color = "#e3f2e1"

    def __init__(self, *, chunk_size: int = 1000, engine: str = "auto", **kwargs: Any) -> None:
        from airflow_export.sources.postgres_copy import ENGINES

        super().__init__(**kwargs)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if engine == "copy" and self.sql is None:
            raise ValueError("engine='copy' needs sql (with conn_id on a PostgreSQL connection)")
        self.chunk_size = chunk_size
        self.engine = engine

    @contextlib.contextmanager
    def open_source(self) -> Iterator[RowSource]:
        """As :meth:`BaseExportOperator.open_source`; for ``sql`` with ``engine`` ``"auto"`` or
        ``"copy"``, a COPY source where COPY writes the cursor path's bytes (see ``engine``)."""
        if self.sql is not None and self.engine != "cursor":
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
        ``page_size``, ``font_path``.
    """

    template_fields: Sequence[str] = (*BaseExportOperator.template_fields, "title")
    export_format = "pdf"
    ui_color = "#fbe9e7"

    def __init__(self, *, title: str | None = None, rows_per_page: int = 50, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.rows_per_page = rows_per_page

    def write(self, source: RowSource, path: str, progress: ProgressLogger, confine_to: str | None) -> ExportResult:
        from airflow_export.writers.pdf import write_pdf

        return write_pdf(
            source.rows, path, columns=source.columns, title=self.title or self.task_id, confine_to=confine_to,
            rows_per_page=self.rows_per_page, overwrite=self.overwrite, progress=progress, **self.format_options,
        )
