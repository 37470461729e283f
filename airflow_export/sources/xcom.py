"""XCom source: rows handed over by an upstream task.

Accepted shapes of the value:

* a list (or any iterable) of mappings: ``[{"id": 1, "name": "a"}, ...]``;
* a list of sequences, named by the operator's ``columns``: ``[[1, "a"], ...]``;
* a table mapping ``{"columns": ["id", "name"], "rows": [[1, "a"], ...]}``.

XCom values are held whole by Airflow itself; this source adds no copy. Mapping rows whose keys
differ lose nothing: a list's columns are every key of every row, in first-seen order (see
:func:`airflow_export.writers.rows.iter_batches`, docs/adr/0050). Integers keep every digit; Airflow 3
itself passes XCom integers only from -2**63 to 2**64 - 1 and a ``Decimal`` as an int or a float:
larger or exact decimal values must travel as strings (docs/adr/0052).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_export.sources.base import RowSource

_HINT = (
    "; pass the upstream task's output (rows=upstream_task.output) or a template that renders to a list "
    "(rows=\"{{ ti.xcom_pull(task_ids='upstream_task') }}\")"
)


def xcom_rows(value: Any, columns: Sequence[str] | None = None) -> RowSource:
    """Turn an XCom value into a :class:`RowSource`.

    :param value: one of the shapes in the module docstring; ``None`` means no rows.
    :param columns: names for sequence rows; overrides the keys of mapping rows.
    :raises TypeError: the value has another shape (the message names the type found).
    """
    if value is None:
        return RowSource(list(columns) if columns is not None else None, [], "rows from XCom")
    if isinstance(value, Mapping):
        if "rows" not in value or set(value) - {"columns", "rows"}:
            raise TypeError(
                "rows from XCom: a mapping must look like {'columns': [...], 'rows': [...]}; "
                f"got keys {sorted(map(str, value))[:10]}"
            )
        cols = list(columns) if columns is not None else (list(value["columns"]) if value.get("columns") else None)
        return RowSource(cols, value["rows"], "rows from XCom")
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"rows from XCom must be a list of rows or a {{'columns', 'rows'}} mapping, got {type(value).__name__}"
            f"{_HINT}"
        )
    return RowSource(list(columns) if columns is not None else None, value, "rows from XCom")
