"""What every source yields: column names and a lazy iterator of rows.

A source is a context manager producing a :class:`RowSource`. Errors raised while reading
(the database, the file, the XCom value) surface as :class:`SourceError`, so the operator can
tell a failing source (metric reason ``source_error``) from a failing writer (``write_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


class SourceError(RuntimeError):
    """Reading the input failed; the message names the source (connection id, file and line, ...)."""


class ConnectionNotDefinedError(SourceError):
    """The export's ``conn_id`` names no Airflow connection; the message says how to define it."""


@dataclass
class RowSource:
    """Rows ready for a writer.

    :param columns: column names, or None when the rows are mappings that carry their own keys.
    :param rows: lazy iterable of sequences (aligned with ``columns``) or mappings.
    :param description: short human text for logs, e.g. ``"sql on conn 'flights_db'"``; never holds secrets.
    :param direct: for a source that writes the CSV file itself (PostgreSQL ``COPY``, see
        :mod:`airflow_export.sources.postgres_copy`): ``direct(path, columns=..., confine_to=...,
        **write_csv_options) -> ExportResult``; ``rows`` is then empty. None for every other source.
    """

    columns: list[str] | None
    rows: Iterable[Sequence[Any]] | Iterable[dict]
    description: str
    direct: Callable[..., Any] | None = None


def guarded(
    items: Iterable[Any],
    what: str,
    expected: tuple[type[BaseException], ...] = (Exception,),
    redact: Callable[[str], str] | None = None,
) -> Iterator[Any]:
    """Re-raise exceptions of ``expected`` types raised while iterating ``items`` as :class:`SourceError`.

    Meant for iterators of *batches* (the per-item cost is one Python frame switch), flattened
    afterwards with :func:`itertools.chain.from_iterable`.

    :param what: names the source in the message, e.g. ``"query on connection 'pg'"``.
    :param redact: removes secrets from the message; if it has a ``chain_leaks(exc)`` method
        saying the original exception (or one it chains) shows a secret, the original is not
        chained (its text would show the secret in tracebacks).
    """
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except SourceError:
            raise
        except expected as exc:
            raw = f"{what} failed while reading rows: {type(exc).__name__}: {exc}"
            message = redact(raw) if redact is not None else raw
            leaks = getattr(redact, "chain_leaks", None)
            if message != raw or (leaks is not None and leaks(exc)):
                raise SourceError(message) from None
            raise SourceError(message) from exc
        yield item
