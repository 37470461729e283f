"""What an export does with an input without rows: ``on_empty`` (ADR 0058).

Like ``write_on_empty`` of google's ``BaseSQLToGCSOperator``, with a third choice:

* ``"write"`` (default): write the file anyway: its header when the columns are known (given,
  or from the query's cursor or the file's header line), else an empty CSV / a PDF without table;
* ``"skip"``: write nothing and end the task as skipped (a previous file at the target stays);
* ``"fail"``: fail the task (:class:`EmptyInputError`, reason ``invalid_input``).

Each choice logs one line. The rows are not read twice: the first row is peeked and put back.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from itertools import chain
from typing import Any

from airflow_export.sources.base import RowSource

ON_EMPTY = ("write", "skip", "fail")
_NOTHING = object()


class EmptyInputError(ValueError):
    """The input has no rows and ``on_empty="fail"``."""


def check_on_empty(value: Any) -> str:
    """``value`` if it is one of :data:`ON_EMPTY`.

    :raises ValueError: naming the parameter, the value and the choices.
    """
    if value not in ON_EMPTY:
        raise ValueError(f"on_empty must be one of {ON_EMPTY!r}, got {value!r}")
    return value


def peek(source: RowSource) -> tuple[RowSource, bool]:
    """``source`` with its first row read ahead and put back, and whether it has no rows.

    A source that writes its file itself (``direct``: PostgreSQL COPY) is not peeked: it is never
    taken for empty (the operator uses COPY only with ``on_empty="write"``).
    """
    if source.direct is not None:
        return source, False
    rows = iter(source.rows)
    first = next(rows, _NOTHING)
    if first is _NOTHING:
        return dataclasses.replace(source, rows=[]), True
    restored: Iterable[Any] = chain((first,), rows)
    return dataclasses.replace(source, rows=restored), False


def on_empty_input(on_empty: str, source: RowSource, target: str, log: logging.Logger | Any) -> None:
    """Log what happens to ``target`` for the empty ``source``; raise for ``skip`` and ``fail``.

    :raises AirflowSkipException: ``on_empty="skip"``.
    :raises EmptyInputError: ``on_empty="fail"``.
    """
    if on_empty == "skip":
        from airflow.sdk.exceptions import AirflowSkipException

        log.info("%s has no rows: nothing written to %s, the task is skipped (on_empty='skip')",
                 source.description, target)
        raise AirflowSkipException(f"{source.description} has no rows (on_empty='skip')")
    if on_empty == "fail":
        raise EmptyInputError(
            f"{source.description} has no rows and on_empty='fail'; nothing was written to {target} "
            "(on_empty='write' writes a file with the header only, on_empty='skip' skips the task)"
        )
    if source.columns:
        log.warning("%s has no rows: writing %s with the header only (columns %s; on_empty='write')",
                    source.description, target, ", ".join(map(str, source.columns)))
    else:
        log.warning("%s has no rows and no columns are known: writing %s without header (pass columns=[...] "
                    "for a header; on_empty='write')", source.description, target)
