"""``ExportCsvOperator`` and ``ExportPdfOperator``: stream a task's input to a file.

Each operator reads exactly one input, streams it through a writer into a temporary file
beside the target, renames it into place on success, sends the export metrics, and returns
metadata (never rows) as its XCom value::

    {"path": ..., "format": "csv", "records": 336776, "bytes": ..., "duration_seconds": ...,
     "sha256": ..., "files": [{"path": ..., "records": ..., "bytes": ..., "sha256": ...}]}

Inputs (exactly one):

* ``conn_id`` + ``sql`` (+ ``parameters``): any Airflow connection whose hook is a
  ``DbApiHook`` (common-sql), streamed with ``fetchmany(fetch_size)`` or a server-side cursor;
* ``rows``: a list of rows, typically an upstream task's XComArg;
* ``source_path``: a CSV or JSON Lines file (local path or ``ObjectStoragePath``).

Modelled on Airflow's providers: common-sql's hooks for connections, google's
``BaseSQLToGCSOperator`` for streaming a cursor into files and returning metadata.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import Asset, AssetAlias, BaseHook, BaseOperator

from airflow_export import metrics
from airflow_export.names import EXPORT_POOL
from airflow_export.destinations import Destination, resolve_destination, staged_output
from airflow_export.operators.lineage import asset_extra, output_dataset, sql_input_datasets
from airflow_export.operators.progress import ProgressLogger
from airflow_export.paths import export_root as export_root_in_force
from airflow_export.sources.base import ConnectionNotDefinedError, RowSource
from airflow_export.sources.files import file_rows
from airflow_export.sources.sql import sql_rows
from airflow_export.sources.xcom import xcom_rows

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_export.writers.frame import ExportResult

DEFAULT_POOL = EXPORT_POOL
#: Writer arguments the operator sets itself; ``format_options`` may not repeat them.
RESERVED_OPTIONS = frozenset({"overwrite", "progress", "columns", "chunk_size", "rows_per_page", "title"})


def export_asset(output_path: str, export_root: str | None = None) -> Asset:
    """The Asset an export to the static local ``output_path`` declares (``file://<resolved path>``).

    Use it in a downstream DAG's ``schedule`` to run after that export; it resolves the path
    against the export root exactly as the operator does.

    :raises ValueError: ``output_path`` is templated or remote (declare an ``Asset`` yourself).
    :raises ExportPathError: ``output_path`` resolves outside the export root (the operator's message).
    """
    asset = BaseExportOperator.default_asset(output_path, export_root, strict=True)
    if asset is None:
        raise ValueError(f"output_path {output_path!r} is templated or remote: declare the Asset explicitly")
    return asset


class ExportCancelled(BaseException):
    """The export was stopped by ``on_kill`` (SIGTERM from the supervisor, a user marking the task)."""


class BaseExportOperator(BaseOperator):
    """Common part of the export operators; use :class:`ExportCsvOperator` or :class:`ExportPdfOperator`.

    :param output_path: target file (templated): a local path, relative to the export root
        (see :mod:`airflow_export.paths`; missing parent directories are created), a
        ``file://`` URI, or a remote ``ObjectStoragePath`` / URI such as
        ``ObjectStoragePath("s3://bucket/key.csv", conn_id="aws")`` or ``s3://CONN@bucket/key.csv``.
        Remote exports are written locally, then uploaded to a temporary key and copied into
        place (see :mod:`airflow_export.destinations`).
    :param conn_id: Airflow connection to read from with ``sql``.
    :param sql: SELECT statement (templated; a ``.sql`` file name is read as a template).
    :param parameters: bound query parameters (templated); never formatted into the SQL.
    :param rows: rows to export (templated): list of mappings or sequences, or
        ``{"columns": [...], "rows": [...]}``; typically ``upstream_task.output``.
    :param source_path: CSV or JSON Lines file to export (templated).
    :param source_format: ``"csv"`` or ``"jsonl"``; inferred from ``source_path``'s suffix when None.
    :param columns: column names; required for sequence rows without their own names,
        optional otherwise (then it also selects and orders mapping keys).
    :param fetch_size: rows per ``fetchmany`` round trip for ``sql`` (default 1000).
    :param overwrite: replace an existing file (default True, so a re-run is idempotent);
        with False an existing target fails the task before any row is read.
    :param export_root: directory outside of which nothing is written; defaults to
        ``AIRFLOW_EXPORT_ROOT``, else ``[export] root``, else ``$AIRFLOW_HOME/exports``
        (there is always a root: see :mod:`airflow_export.paths`).
    :param format_options: extra writer options (see :func:`airflow_export.write_csv` /
        :func:`airflow_export.write_pdf`), validated by the writer.
    :param progress_every_rows: log progress every this many rows (default 50,000) ...
    :param progress_every_seconds: ... or every this many seconds (default 5), whichever first.
    :param pool: Airflow pool (default ``export_pool``); the pool bounds concurrency.
    :param outlets: Assets the export produces. Each ``Asset`` outlet's event gets the export's
        metadata as extras (path, format, records, bytes, sha256, files); each ``AssetAlias``
        outlet gets an event for ``Asset("file://<written path>")`` with those extras (for
        templated, per-run paths). When ``outlets`` is not given and ``output_path`` is a plain
        string without templates, the outlet is ``Asset("file://<resolved path>")``.
    """

    template_fields: Sequence[str] = ("output_path", "sql", "parameters", "rows", "source_path", "columns")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "parameters": "json"}
    export_format: ClassVar[str] = ""

    def __init__(
        self,
        *,
        output_path: str | os.PathLike,
        conn_id: str | None = None,
        sql: str | None = None,
        parameters: Mapping[str, Any] | Sequence[Any] | None = None,
        rows: Any = None,
        source_path: str | os.PathLike | None = None,
        source_format: str | None = None,
        columns: Sequence[str] | None = None,
        fetch_size: int = 1000,
        overwrite: bool = True,
        export_root: str | None = None,
        format_options: Mapping[str, Any] | None = None,
        progress_every_rows: int = 50_000,
        progress_every_seconds: float = 5.0,
        pool: str = DEFAULT_POOL,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool=pool, **kwargs)
        if "outlets" not in kwargs:
            default = self.default_asset(output_path, export_root)
            if default is not None:
                self.outlets = [default]
        given = [name for name, value in (("sql", sql), ("rows", rows), ("source_path", source_path)) if value is not None]
        if len(given) != 1:
            raise ValueError(
                f"{type(self).__name__} {kwargs.get('task_id', '')!r}: give exactly one input "
                f"(sql with conn_id, rows, or source_path); got {given or 'none'}"
            )
        if sql is not None and not conn_id:
            raise ValueError(f"{type(self).__name__}: sql needs conn_id")
        if fetch_size < 1:
            raise ValueError(f"fetch_size must be >= 1, got {fetch_size}")
        reserved = sorted(set(format_options or {}) & RESERVED_OPTIONS)
        if reserved:
            raise ValueError(
                f"format_options may not set {reserved}: they are operator parameters "
                f"(pass them to {type(self).__name__} directly)"
            )
        self.output_path = output_path
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.rows = rows
        self.source_path = source_path
        self.source_format = source_format
        self.columns = columns
        self.fetch_size = fetch_size
        self.overwrite = overwrite
        self.export_root = export_root
        self.format_options = dict(format_options or {})
        self.progress_every_rows = progress_every_rows
        self.progress_every_seconds = progress_every_seconds

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """``.partial(...).expand(...)`` (dynamic task mapping), in ``export_pool`` by default.

        Airflow's ``partial`` takes ``pool`` only from the arguments or ``default_args``, never
        from an operator's ``__init__`` default, so without this mapped exports would run in
        ``default_pool`` and escape the export pool's slots.
        """
        operator_partial = super().partial(**kwargs)
        operator_partial.kwargs.setdefault("pool", DEFAULT_POOL)
        return operator_partial

    # -- templating -----------------------------------------------------------------------

    #: Template fields that hold data: an XComArg is resolved, a literal value is left as it is.
    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("rows", "columns")

    def _do_render_template_fields(self, parent, template_fields, context, jinja_env, seen_oids) -> None:
        """Render like Airflow, except that data is never Jinja and only ``sql`` may name a ``.sql`` file.

        * ``rows`` and ``columns``: an XComArg (``upstream.output``) is resolved; literal rows are
          data, so a cell such as ``"{{ ds }}"`` or ``"report.sql"`` is exported unchanged.
        * ``sql``: rendered as usual; a value ending in ``.sql`` is read as a template file.
        * the other fields (``output_path``, ``parameters``, ``source_path``, ``title``) are
          rendered as Jinja strings, but a value ending in ``.sql`` is not taken for a file name.
        """
        if parent is not self:
            return super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        fields = list(template_fields)
        for name in (f for f in fields if f in self.DATA_FIELDS):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, os.PathLike)) and hasattr(value, "resolve"):
                setattr(self, name, value.resolve(context))
        super()._do_render_template_fields(parent, [f for f in fields if f == "sql"], context, jinja_env, seen_oids)
        others = [f for f in fields if f != "sql" and f not in self.DATA_FIELDS]
        self.template_ext = ()
        try:
            super()._do_render_template_fields(parent, others, context, jinja_env, seen_oids)
        finally:
            del self.template_ext

    # -- wiring ---------------------------------------------------------------------------

    @staticmethod
    def default_asset(output_path: Any, export_root: str | None, *, strict: bool = False) -> Asset | None:
        """``Asset("file://<path>")`` for a static local ``output_path`` (a path or a ``file://``
        URI); None when it is templated or remote.

        :param strict: raise instead of returning None when the path cannot be resolved.
        :raises ExportPathError, ValueError: with ``strict``, the path leaves the export root or is invalid.
        """
        if not isinstance(output_path, str) or "{{" in output_path or "{%" in output_path:
            return None
        if "://" in output_path and not output_path.startswith("file://"):
            return None
        try:
            destination = resolve_destination(output_path, export_root=export_root_in_force(export_root))
        except (OSError, ValueError):
            if strict:
                raise
            return None
        return Asset(uri=destination.uri) if not destination.is_remote else None

    def get_db_hook(self) -> Any:
        """The connection's DB-API hook (``Connection.get_hook()``, as common-sql does).

        :raises ConnectionNotDefinedError: no connection ``conn_id`` (a :class:`SourceError`).
        :raises TypeError: the connection's hook is not a DB-API hook.
        """
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            connection = BaseHook.get_connection(self.conn_id)
        except AirflowNotFoundException as exc:
            env = "AIRFLOW_CONN_" + "".join(c if c.isalnum() else "_" for c in str(self.conn_id)).upper()
            raise ConnectionNotDefinedError(
                f"connection {self.conn_id!r} is not defined ({exc}); define it in the UI (Admin > Connections), "
                f"with `airflow connections add {self.conn_id} ...`, or as the environment variable {env}"
            ) from exc
        hook = connection.get_hook()
        if not hasattr(hook, "get_conn"):
            raise TypeError(
                f"connection {self.conn_id!r} (type {connection.conn_type!r}) has no DB-API hook; "
                "use a database connection"
            )
        return hook

    @contextlib.contextmanager
    def open_source(self) -> Iterator[RowSource]:
        """The configured input as a :class:`RowSource` (closed after the export).

        ``columns`` applies to every input alike: it renames the fields of sequence rows (a
        query's columns, a CSV file's header; the count must match) and selects and orders the
        keys of mapping rows (JSON Lines).

        :raises ValueError: ``columns`` has another length than the query's or file's columns.
        """
        if self.sql is not None:
            with sql_rows(self.get_db_hook(), self.sql, self.parameters, fetch_size=self.fetch_size, conn_id=self.conn_id) as src:
                yield self._with_columns(src)
        elif self.source_path is not None:
            with file_rows(self.source_path, self.source_format) as src:
                yield self._with_columns(src)
        else:
            yield xcom_rows(self.rows, self.columns)

    def _with_columns(self, source: RowSource) -> RowSource:
        if self.columns is None:
            return source
        columns = list(self.columns)
        if source.columns is not None and len(columns) != len(source.columns):
            raise ValueError(
                f"columns has {len(columns)} names {columns} but {source.description} has "
                f"{len(source.columns)} columns {source.columns}; columns renames them one by one"
                + (" (to leave some out, select them in the query)" if self.sql is not None else "")
            )
        return RowSource(columns, source.rows, source.description)

    def destination(self) -> Destination:
        """Where the export goes: a local path checked against the export root, or a remote URI."""
        return resolve_destination(self.output_path, export_root=export_root_in_force(self.export_root))

    def resolve_output_path(self) -> str:
        """The real local path to write (checked against the export root), or the remote URI."""
        dest = self.destination()
        return dest.local_path or dest.uri

    def write(self, source: RowSource, path: str, progress: ProgressLogger, confine_to: str | None) -> ExportResult:
        """Write ``source`` to ``path`` with this operator's format, inside the export root
        ``confine_to`` (None: a remote destination's local staging file); implemented by subclasses."""
        raise NotImplementedError

    # -- execution ------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        started = time.monotonic()
        metrics.export_started(self.export_format)
        self._exporting = True
        try:
            root = export_root_in_force(self.export_root)
            destination = resolve_destination(self.output_path, export_root=root)
            if root.is_default and not destination.is_remote:
                self.log.info(
                    "No export root is configured (AIRFLOW_EXPORT_ROOT or [export] root): exports are confined to "
                    "the default %s", root.path,
                )
            target = destination.local_path or destination.uri
            with staged_output(destination, overwrite=self.overwrite) as stage, self.open_source() as source:
                self.log.info("Exporting %s to %s (%s)", source.description, target, self.export_format)
                progress = ProgressLogger(
                    self.log, target, every_rows=self.progress_every_rows, every_seconds=self.progress_every_seconds
                )
                # The writer re-checks the export root on the directory it opens (a symlink swapped
                # in while the query ran is caught) and then writes through that directory's descriptor.
                written = self.write(
                    source, stage.local_path, progress, confine_to=None if destination.is_remote else root.path
                )
                result = stage.commit(written)
        except BaseException as exc:
            reason = metrics.failure_reason(exc)
            metrics.export_failed(self.export_format, reason, time.monotonic() - started)
            raise
        finally:
            self._exporting = False
            metrics.export_ended()
        metrics.export_succeeded(self.export_format, result.records, result.bytes, result.duration_seconds)
        meta = result.to_dict()
        self._result = meta
        self.emit_asset_events(context, meta)
        self.log.info(
            "Exported %d records, %d bytes in %.2f s (%.0f records/s) to %s",
            result.records, result.bytes, result.duration_seconds, result.records_per_second,
            ", ".join(f.path for f in result.files),
        )
        return meta

    def emit_asset_events(self, context: Context, meta: dict[str, Any]) -> None:
        """Attach the export's metadata to the Asset events of this task's outlets."""
        outlet_events = context.get("outlet_events") if hasattr(context, "get") else None
        if outlet_events is None:
            return
        extra = asset_extra(meta)
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias):
                uri = meta["path"] if "://" in meta["path"] else f"file://{meta['path']}"
                outlet_events[outlet].add(Asset(uri=uri), extra=extra)
            elif isinstance(outlet, Asset):
                outlet_events[outlet].extra.update(extra)

    # -- OpenLineage ----------------------------------------------------------------------

    def _lineage(self, result: dict[str, Any] | None) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset

        inputs: list[Any] = []
        if self.sql is not None and isinstance(self.sql, str):
            inputs = sql_input_datasets(self.get_db_hook(), self.sql, self.log)
        elif self.source_path is not None:
            source = output_dataset(str(self.source_path))
            inputs = [InputDataset(namespace=source.namespace, name=source.name)]
        if result is not None:
            outputs = [output_dataset(f["path"], {**result, "records": f["records"], "bytes": f["bytes"], "files": [f]})
                       for f in result["files"]]
        else:
            try:
                outputs = [output_dataset(self.resolve_output_path())]
            except (OSError, ValueError, NotImplementedError):
                outputs = []
        return OperatorLineage(inputs=inputs, outputs=outputs)

    def get_openlineage_facets_on_start(self) -> Any:
        """OpenLineage: the input tables (SQL parsed as common-sql does) or file, and the output file."""
        return self._lineage(None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: as on start, with one output dataset per written file and its row count and size."""
        return self._lineage(getattr(self, "_result", None))

    def on_kill(self) -> None:
        """Stop a running export: its temporary file is removed and the failure counted as ``cancelled``.

        Airflow calls this from its SIGTERM handler while ``execute`` runs (the export is stopped
        where it is), and again after ``execute`` has already ended with ``AirflowTaskTimeout``
        (then there is nothing to stop, and the timeout must stay the task's error).
        """
        if getattr(self, "_exporting", False):
            raise ExportCancelled(f"export to {self.output_path} was cancelled")


class ExportCsvOperator(BaseExportOperator):
    """Stream a query, XCom rows or a file into a CSV file (RFC 4180), chunk by chunk.

    All parameters of :class:`BaseExportOperator`, plus:

    :param chunk_size: rows per write (default 1000); at most one chunk is held in memory.
    :param format_options: :func:`airflow_export.write_csv` options, e.g. ``delimiter``,
        ``null_marker``, ``compression="gzip"``, ``bom``, ``max_rows_per_file``.
    """

    export_format = "csv"
    ui_color = "#e3f2e1"

    def __init__(self, *, chunk_size: int = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk_size = chunk_size

    def write(self, source: RowSource, path: str, progress: ProgressLogger, confine_to: str | None) -> ExportResult:
        from airflow_export.writers.csv import write_csv

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
