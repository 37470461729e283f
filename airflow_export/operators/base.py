"""The export operators' common part: arguments, inputs, destination, and a thin ``execute``.

Each export reads exactly one input, streams it through a writer into a staged output for
its destination, commits it, sends the export metrics, and returns metadata (never rows) as
its XCom value::

    {"path": ..., "format": "csv", "records": 336776, "bytes": ..., "duration_seconds": ...,
     "sha256": ..., "files": [{"path": ..., "records": ..., "bytes": ..., "sha256": ...}]}

Modelled on Airflow's providers: common-sql's hooks for connections, google's
``BaseSQLToGCSOperator`` for streaming a cursor into files and returning metadata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import jinja2
from airflow.sdk import BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from airflow_export import metrics
from airflow_export.destinations import Destination, export_root, resolve_destination, staged_output
from airflow_export.names import EXPORT_POOL, WORKER_ENV
from airflow_export.operators.assets import default_asset, emit_asset_events
from airflow_export.operators.empty import check_on_empty, on_empty_input, peek
from airflow_export.operators.lineage import operator_lineage
from airflow_export.operators.progress import ProgressLogger
from airflow_export.operators.templating import as_data, data_value, render_native, render_text
from airflow_export.sources.base import ConnectionNotDefinedError, RowSource
from airflow_export.sources.files import file_rows
from airflow_export.sources.sql import sql_rows
from airflow_export.sources.xcom import xcom_rows

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_export.writers.frame import ExportResult

#: Writer arguments the operator sets itself; ``format_options`` may not repeat them.
RESERVED_OPTIONS = frozenset({"overwrite", "progress", "columns", "chunk_size", "rows_per_page", "title"})


def _resolved_later(value: Any) -> bool:
    """True for a value Airflow resolves when the task runs (``XComArg``, ``literal``, ``DagParam``)."""
    return callable(getattr(value, "resolve", None))


class ExportCancelled(BaseException):
    """The export was stopped by ``on_kill`` (SIGTERM from the supervisor, a user marking the task)."""


class BaseExportOperator(BaseOperator):
    """Common part of the export operators; use :class:`ExportCsvOperator` or :class:`ExportPdfOperator`.

    :param output_path: target file (templated): a local path, relative to the export root
        (missing parent directories are created), a ``file://`` URI, or a remote
        ``ObjectStoragePath`` / URI such as ``ObjectStoragePath("s3://bucket/key.csv", conn_id="aws")``
        or ``s3://CONN@bucket/key.csv`` (written locally, then staged to object storage:
        :mod:`airflow_export.destinations`).
    :param conn_id: Airflow connection to read from with ``sql``; its hook must be a DB-API hook.
    :param sql: SELECT statement (templated; a ``.sql`` file name is read as a template).
    :param parameters: bound query parameters (templated); never formatted into the SQL.
    :param rows: rows to export: list of mappings or sequences, or ``{"columns": [...], "rows": [...]}``,
        exported as given (never Jinja); typically ``upstream_task.output``; a string is a template
        rendered to such a value (``"{{ ti.xcom_pull(task_ids='q') }}"``).
    :param source_path: CSV or JSON Lines file to export (templated), local or ``ObjectStoragePath``.
    :param source_format: ``"csv"`` or ``"jsonl"``; inferred from ``source_path``'s suffix when None.
    :param columns: column names (never Jinja); required for sequence rows without their own
        names; for a query or a file it renames the columns one by one; for mapping rows it
        selects and orders the keys (other keys are left out); without it every key is a column
        (see :func:`airflow_export.writers.rows.iter_batches`).
    :param fetch_size: rows per ``fetchmany`` round trip for ``sql`` (default 1000).
    :param overwrite: replace an existing file (default True, so a re-run is idempotent);
        with False an existing target fails the task before any row is read.
    :param export_root: directory outside of which nothing is written; defaults to
        ``AIRFLOW_EXPORT_ROOT``, else ``[export] root``, else ``$AIRFLOW_HOME/exports``.
    :param format_options: extra writer options (see :func:`airflow_export.write_csv` /
        :func:`airflow_export.write_pdf`), validated by the writer.
    :param progress_every_rows: log progress every this many rows (default 50,000) ...
    :param progress_every_seconds: ... or every this many seconds (default 5), whichever first.
    :param pool: Airflow pool (default ``export_pool``), which bounds how many exports run at once.
    :param on_empty: an input without rows: ``"write"`` (default: the header when the columns are
        known), ``"skip"`` (no file, the task is skipped) or ``"fail"`` (see :mod:`~airflow_export.operators.empty`).
    :param outlets: Assets the export produces (see :func:`~airflow_export.operators.assets.emit_asset_events`).
        When not given and ``output_path`` is a plain local string without templates, the
        outlet is :func:`~airflow_export.export_asset` of it.
    :raises ValueError: not exactly one input; ``sql`` without ``conn_id``; ``fetch_size`` < 1;
        ``format_options`` repeating an operator parameter.
    """

    template_fields: Sequence[str] = ("output_path", "sql", "parameters", "rows", "source_path", "columns")
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"sql": "sql", "parameters": "json"}
    export_format: ClassVar[str] = ""
    #: The writer arguments the operator takes itself (checked with ``format_options``).
    writer_arg_names: ClassVar[tuple[str, ...]] = ()
    #: The reason ``execute`` counted this try's failure under (None: not failed in ``execute``);
    #: the plugin's failure listener reads it (:mod:`airflow_export.plugin.failures`).
    failure_reason: str | None = None

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
        pool: str = EXPORT_POOL,
        on_empty: str = "write",
        **kwargs: Any,
    ) -> None:
        super().__init__(pool=pool, **kwargs)
        inputs = (("sql", sql), ("rows", rows), ("source_path", source_path))
        given = [name for name, value in inputs if value is not None]
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
        if "outlets" not in kwargs and (asset := default_asset(output_path, export_root)) is not None:
            self.outlets = [asset]
        self.output_path = output_path
        self.conn_id = conn_id
        self.sql = sql
        self.parameters = parameters
        self.rows = as_data(rows)
        self.source_path = source_path
        self.source_format = source_format
        self.columns = as_data(columns)
        self.fetch_size = fetch_size
        self.overwrite = overwrite
        self.export_root = export_root
        self.format_options = dict(format_options or {})
        self.progress_every_rows = progress_every_rows
        self.progress_every_seconds = progress_every_seconds
        self.on_empty = check_on_empty(on_empty)

    @classmethod
    def check_options(cls, format_options: dict[str, Any]) -> None:
        """Check the writer arguments that are not templated, as the writer will; implemented by subclasses."""

    @classmethod
    def validate_options(cls, task_id: Any, format_options: Any, writer_args: Mapping[str, Any]) -> None:
        """:meth:`check_options`, its error naming the task. Called at the end of ``__init__`` and by
        :meth:`partial` (for what is given there), so a bad option is an import error of the DAG file,
        not a failed run; values Airflow resolves at run time (``XComArg``) are left to then.

        :raises TypeError: an unknown option (with the closest valid name).
        :raises ValueError: a bad option value, naming the option.
        """
        if not isinstance(format_options, Mapping) or any(map(_resolved_later, writer_args.values())):
            return
        try:
            cls.check_options(dict(format_options), **writer_args)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{cls.__name__} {task_id!r}: {exc}") from None

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """``.partial(...).expand(...)`` (dynamic task mapping), in ``export_pool`` by default.

        Airflow's ``partial`` takes ``pool`` only from the arguments or ``default_args``, never
        from an operator's ``__init__`` default (see ADR 0021).
        """
        cls.validate_options(
            kwargs.get("task_id"), kwargs.get("format_options") or {},
            {name: kwargs[name] for name in cls.writer_arg_names if name in kwargs},
        )
        operator_partial = super().partial(**kwargs)
        operator_partial.kwargs.setdefault("pool", EXPORT_POOL)
        return operator_partial

    def render_template(
        self,
        content: Any,
        context: Context,
        jinja_env: jinja2.Environment | None = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """Render like Airflow, with the export's rules (:mod:`airflow_export.operators.templating`).

        A ``rows`` string renders to a native Python object; only ``sql`` may name a ``.sql``
        file. Literal ``rows`` / ``columns`` are ``literal()`` values, left as they are.
        """
        if isinstance(content, str):
            # Airflow passes each field's own value first: identity tells which field this is.
            if content is self.rows:
                return render_native(content, context, jinja_env or self.get_template_env())
            if content is not self.sql and content.endswith(tuple(self.template_ext)):
                return render_text(content, context, jinja_env or self.get_template_env())
        return super().render_template(content, context, jinja_env, seen_oids)

    # -- wiring ---------------------------------------------------------------------------

    def get_db_hook(self) -> Any:
        """The connection's DB-API hook (``Connection.get_hook()``, as common-sql does).

        :raises ConnectionNotDefinedError: no connection ``conn_id`` (a :class:`SourceError`).
        :raises TypeError: the connection's hook is not a DB-API hook.
        """
        from airflow.sdk.exceptions import AirflowNotFoundException

        if not self.conn_id:
            raise ValueError(f"{type(self).__name__}: sql needs conn_id")
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

        :raises ValueError: ``columns`` has another length than the query's or file's columns.
        :raises TypeError: ``rows`` has another shape (the message says what to pass).
        """
        if self.sql is not None:
            hook = self.get_db_hook()
            with sql_rows(hook, self.sql, self.parameters, fetch_size=self.fetch_size, conn_id=self.conn_id) as src:
                yield self._with_columns(src)
        elif self.source_path is not None:
            with file_rows(self.source_path, self.source_format) as src:
                yield self._with_columns(src)
        else:
            yield xcom_rows(data_value(self.rows), data_value(self.columns))

    def _with_columns(self, source: RowSource) -> RowSource:
        if self.columns is None:
            return source
        columns = list(data_value(self.columns))
        if source.columns is not None and len(columns) != len(source.columns):
            raise ValueError(
                f"columns has {len(columns)} names {columns} but {source.description} has "
                f"{len(source.columns)} columns {source.columns}; columns renames them one by one"
                + (" (to leave some out, select them in the query)" if self.sql is not None else "")
            )
        return dataclasses.replace(source, columns=columns)

    def destination(self) -> Destination:
        """Where the export goes: a local path checked against the export root, or a remote URI."""
        return resolve_destination(self.output_path, export_root=export_root(self.export_root))

    def resolve_output_path(self) -> str:
        """The real local path to write (checked against the export root), or the remote URI."""
        return self.destination().target

    def write(self, source: RowSource, path: str, progress: ProgressLogger, confine_to: str | None) -> ExportResult:
        """Write ``source`` to ``path`` with this operator's format, inside the directory
        ``confine_to`` (None: a remote destination's local staging file); implemented by subclasses."""
        raise NotImplementedError

    # -- execution ------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Export, count it in the metrics, declare the Asset events, and return the metadata."""
        started = time.monotonic()
        metrics.export_started(self.export_format)
        self._exporting = True
        try:
            result = self.export()
        except AirflowSkipException:  # on_empty="skip": neither a success nor a failure
            raise
        except BaseException as exc:
            # Counted here; the plugin's failure listener counts failures before execute (ADR 0057).
            self.failure_reason = metrics.failure_reason(exc)
            metrics.export_failed(self.export_format, self.failure_reason, time.monotonic() - started)
            raise
        finally:
            self._exporting = False
            metrics.export_ended()
        metrics.export_succeeded(self.export_format, result.records, result.bytes, result.duration_seconds)
        meta = result.to_dict()
        if worker := os.environ.get(WORKER_ENV):  # which worker ran it (set per Celery worker)
            meta["worker"] = worker
        self._result = meta
        emit_asset_events(self.outlets, context, meta)
        self.log.info(
            "Exported %d records, %d bytes in %.2f s (%.0f records/s) to %s",
            result.records, result.bytes, result.duration_seconds, result.records_per_second,
            ", ".join(f.path for f in result.files),
        )
        if result.formula_guarded_cells:
            self.log.info(
                "The formula guard prefixed %d text cells with ' (they began with = + - @, tab or CR and were not "
                "plain numbers); pass format_options={'formula_guard': False} for trusted input",
                result.formula_guarded_cells,
            )
        return meta

    def export(self) -> ExportResult:
        """Source -> writer -> staged output -> commit, with the export root resolved once for this run.

        :raises ExportPathError: ``output_path`` leaves the export root.
        :raises SourceError: reading the input failed.
        :raises OSError: writing or publishing failed.
        """
        root = export_root(self.export_root)
        destination = resolve_destination(self.output_path, export_root=root)
        if root.is_default and not destination.is_remote:
            self.log.info(
                "No export root is configured (AIRFLOW_EXPORT_ROOT or [export] root): exports are confined to "
                "the default %s", root.path,
            )
        with staged_output(destination, overwrite=self.overwrite) as stage, self.open_source() as source:
            self.log.info("Exporting %s to %s (%s)", source.description, destination.target, self.export_format)
            source, empty = peek(source)
            if empty:
                on_empty_input(self.on_empty, source, destination.target, self.log)
            progress = ProgressLogger(
                self.log, destination.target, every_rows=self.progress_every_rows,
                every_seconds=self.progress_every_seconds,
            )
            # The writer re-checks the export root on the directory it opens (a symlink swapped
            # in while the query ran is caught) and then writes through that directory's descriptor.
            written = self.write(
                source, stage.local_path, progress, confine_to=None if destination.is_remote else root.path
            )
            return stage.commit(written)

    # -- OpenLineage ----------------------------------------------------------------------

    def get_openlineage_facets_on_start(self) -> Any:
        """OpenLineage: the input tables (SQL parsed as common-sql does) or file, and the output file."""
        return operator_lineage(self, None)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: as on start, with one output dataset per written file and its row count and size."""
        return operator_lineage(self, getattr(self, "_result", None))

    def on_kill(self) -> None:
        """Stop a running export: its temporary file is removed and the failure counted as ``cancelled``.

        Airflow calls this from its SIGTERM handler while ``execute`` runs, and again after
        ``execute`` has already ended with ``AirflowTaskTimeout`` (then there is nothing to stop,
        and the timeout stays the task's error).
        """
        if getattr(self, "_exporting", False):
            raise ExportCancelled(f"export to {self.output_path} was cancelled")
