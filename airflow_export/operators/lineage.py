"""Lineage of an export: Airflow Asset event extras and OpenLineage facets.

OpenLineage dataset naming follows the spec's naming conventions
(https://openlineage.io/docs/spec/naming): a local file is namespace ``file``, name = absolute
path; a table read through a connection gets the namespace the connection's hook reports
(``get_openlineage_database_info``, as common-sql does), else ``<conn_type>://<host>`` with
the table names parsed from the SQL by the OpenLineage provider's ``SQLParser``.
"""

from __future__ import annotations

import contextlib
from typing import Any


def asset_extra(result: dict[str, Any]) -> dict[str, Any]:
    """The extras attached to an export's Asset event: path, format, records, bytes, sha256, files (JSON-safe)."""
    return {k: result[k] for k in ("path", "format", "records", "bytes", "sha256")} | {
        "files": [f["path"] for f in result["files"]]
    }


def output_dataset(path: str, result: dict[str, Any] | None = None) -> Any:
    """The OpenLineage output dataset of one export (with row count and size once known)."""
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset
    from openlineage.client.generated.base import OutputDatasetFacet

    facets: dict[str, OutputDatasetFacet] = {}
    if result is not None:
        facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=result["records"], size=result["bytes"], fileCount=len(result["files"])
        )
    if "://" in path and not path.startswith("file://"):
        scheme, rest = path.split("://", 1)
        bucket, _, key = rest.partition("/")
        return OutputDataset(namespace=f"{scheme}://{bucket}", name=key or "/", outputFacets=facets)
    return OutputDataset(namespace="file", name=path.removeprefix("file://"), outputFacets=facets)


def sql_input_datasets(hook: Any, sql: str, log: Any) -> list[Any]:
    """Input datasets of a query: through the hook's OpenLineage support, else parsed from the SQL.

    Never raises: lineage must not fail an export (returns [] and logs at debug level).
    """
    try:
        from airflow.providers.openlineage.sqlparser import SQLParser
        from openlineage.client.event_v2 import Dataset
    except ImportError:
        return []
    try:
        connection = hook.get_connection(getattr(hook, hook.conn_name_attr))
        database_info = None
        with contextlib.suppress(AttributeError):
            database_info = hook.get_openlineage_database_info(connection)
        if database_info is not None:
            parser = SQLParser(
                dialect=hook.get_openlineage_database_dialect(connection),
                default_schema=hook.get_openlineage_default_schema(),
            )
            lineage = parser.generate_openlineage_metadata_from_sql(
                sql=sql, hook=hook, database_info=database_info, use_connection=False,
            )
            return list(lineage.inputs)
        meta = SQLParser(dialect=connection.conn_type).parse(sql)
        namespace = f"{connection.conn_type}://{connection.host or ''}"
        return [
            Dataset(namespace=namespace, name=".".join(p for p in (t.database, t.schema, t.name) if p))
            for t in (meta.in_tables if meta else [])
        ]
    except Exception as exc:  # lineage is best effort
        log.debug("OpenLineage: cannot derive inputs from the SQL: %s", exc)
        return []


def operator_lineage(operator: Any, result: dict[str, Any] | None) -> Any:
    """The ``OperatorLineage`` of an export operator: its input (tables of ``sql``, or
    ``source_path``) and its output files (one dataset per written file once ``result`` is known).

    :param operator: a :class:`~airflow_export.operators.base.BaseExportOperator`.
    :param result: the export's XCom metadata, or None before the export ran.
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset

    inputs: list[Any] = []
    if operator.sql is not None and isinstance(operator.sql, str):
        inputs = sql_input_datasets(operator.get_db_hook(), operator.sql, operator.log)
    elif operator.source_path is not None:
        source = output_dataset(str(operator.source_path))
        inputs = [InputDataset(namespace=source.namespace, name=source.name)]
    if result is not None:
        outputs = [output_dataset(f["path"], {**result, "records": f["records"], "bytes": f["bytes"], "files": [f]})
                   for f in result["files"]]
    else:
        try:
            outputs = [output_dataset(operator.destination().target)]
        except (OSError, ValueError, NotImplementedError):
            outputs = []
    return OperatorLineage(inputs=inputs, outputs=outputs)
