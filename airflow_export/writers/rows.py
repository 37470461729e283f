"""Turning any iterable of rows into column names plus a lazy stream of fixed-width batches.

Both writers (CSV and PDF) read their input through :func:`iter_batches`, so a row means
the same thing everywhere:

* **sequence rows** (tuples, lists, ``sqlite3.Row``, DB-API result rows): the fields in
  column order. ``columns`` names them; without ``columns`` they are named
  ``col_1`` .. ``col_n`` from the width of the first row. Every row must have exactly
  as many fields as there are columns, otherwise :class:`ValueError` names the row.
  ``str``/``bytes`` are not rows (a string is a sequence of characters, not of fields).
* **mapping rows** (``dict`` and other :class:`collections.abc.Mapping`): no value is ever
  dropped unless the caller chose the columns (docs/adr/0050):

  ==========================  ===================================================
  ``columns`` given           exactly these keys, in this order; other keys are
                              the caller's choice to leave out (not logged;
                              ``extra_keys="error"`` refuses them instead)
  rows in memory (``list``    the union of every row's keys, in first-seen order
  or ``tuple``, e.g. XCom)
  streamed rows (any other    the union of the keys of the first ``key_window``
  iterable: JSON Lines, a     rows (:data:`KEY_WINDOW`, 1,000), in first-seen
  generator)                  order; a later row with another key is a
                              :class:`ValueError` naming the row and the key and
                              saying to pass ``columns=``
  a row lacks a column        the cell is ``None`` (written as the null marker)
  ==========================  ===================================================

  The error stops the export before its target exists (the writers' output is atomic: on
  an error no file stands at the target), so a file is never quietly narrower than its rows.

Rows are numbered from 1 over data rows (the header is not a row). The input is consumed
lazily; at most one batch (and, for streamed mapping rows, the first ``key_window`` rows) is
held at a time.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from operator import itemgetter
from typing import Any

logger = logging.getLogger("airflow_export")

EXTRA_KEYS_MODES = ("ignore", "error")
#: Streamed mapping rows read ahead to learn the columns (the union of their keys).
KEY_WINDOW = 1000
_NO_ROW = object()

# Row types known to be sequences of fields; checked once per batch with a C-level set(map(type)).
_KNOWN_SEQUENCE_TYPES: set[type] = {tuple, list}


def _check_sequence_type(row_type: type, row_number: int) -> None:
    """Accept ``row_type`` as a sequence row type or raise naming ``row_number``."""
    if row_type in _KNOWN_SEQUENCE_TYPES:
        return
    if issubclass(row_type, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"row {row_number}: a row must be a sequence of fields or a mapping, "
            f"got {row_type.__name__} (a string is not a row; wrap it in a tuple)"
        )
    if issubclass(row_type, Mapping):
        raise TypeError(
            f"row {row_number}: got a mapping row after sequence rows; "
            "all rows of one export must be sequences or all mappings"
        )
    if not (hasattr(row_type, "__len__") and hasattr(row_type, "__getitem__")):
        raise TypeError(
            f"row {row_number}: a row must be a sequence of fields or a mapping, got {row_type.__name__}"
        )
    _KNOWN_SEQUENCE_TYPES.add(row_type)


def _sequence_batches(
    first: Sequence, it: Iterator, width: int, batch_size: int
) -> Iterator[list[Sequence]]:
    """Batches of sequence rows, passed through as given after a width and type check."""
    done = 0
    batch = [first, *islice(it, batch_size - 1)]
    while batch:
        lengths = set(map(len, batch))
        if lengths != {width}:
            for index, row in enumerate(batch):
                if len(row) != width:
                    raise ValueError(
                        f"row {done + index + 1}: expected {width} fields, got {len(row)}"
                    )
        types = set(map(type, batch))
        if not types <= _KNOWN_SEQUENCE_TYPES:
            for index, row in enumerate(batch):
                _check_sequence_type(type(row), done + index + 1)
        yield batch
        done += len(batch)
        batch = list(islice(it, batch_size))


def _key_union(rows: Sequence[Any]) -> list:
    """The keys of the mapping rows among ``rows``, each once, in first-seen order (other rows
    are skipped here; the batching names them as errors)."""
    if all(issubclass(t, Mapping) for t in set(map(type, rows))):
        return list(dict.fromkeys(chain.from_iterable(rows)))  # C-level: iterating a mapping gives its keys
    seen: dict = {}
    for row in rows:
        if isinstance(row, Mapping):
            seen.update(dict.fromkeys(row))
    return list(seen)


def _extra_keys_error(number: int, extra: list, keys: list, key_window: int | None) -> ValueError:
    """The error for mapping row ``number`` holding ``extra`` keys that are not columns;
    ``key_window``: the columns came from that many streamed rows (None: they were given)."""
    if key_window is None:
        return ValueError(f"row {number}: keys {extra!r} are not among the columns {keys!r}")
    noun = "key" if len(extra) == 1 else "keys"
    return ValueError(
        f"row {number}: {noun} {', '.join(map(repr, extra))} not among the columns {keys!r}, which are the "
        f"keys of the first {key_window} rows of a streamed input; pass columns=[...] naming every column "
        "to export (keys not named are then left out)"
    )


def _mapping_batches(
    it: Iterator, keys: list, batch_size: int, extra_keys: str, key_window: int | None
) -> Iterator[list[Sequence[Any]]]:
    """Batches of mapping rows turned into tuples ordered like ``keys``.

    :param extra_keys: ``"ignore"`` (columns given: other keys are left out) or ``"error"``.
    :param key_window: set when ``keys`` came from the first rows of a stream: another key is
        then always an error saying so.
    """
    width = len(keys)
    key_set = set(keys)
    if width == 1:
        only = keys[0]

        def getter(row: Mapping) -> tuple:
            return (row[only],)

    elif width == 0:

        def getter(row: Mapping) -> tuple:
            return ()

    else:
        getter = itemgetter(*keys)  # type: ignore[assignment]  # several keys: itemgetter returns a tuple
    refuse = extra_keys == "error" or key_window is not None
    done = 0
    batch = list(islice(it, batch_size))
    while batch:
        # All rows as wide as the distinct keys and every key found => exactly the same keys.
        exact = set(map(len, batch)) == {len(key_set)}
        out: list[Sequence[Any]] | None = None
        if exact:
            try:
                out = list(map(getter, batch))
            except (KeyError, TypeError):
                out = None
        if out is None:
            # Slow path, row by row: some row lacks a key, has other keys, or is not a mapping.
            out = []
            for index, row in enumerate(batch):
                number = done + index + 1
                if not isinstance(row, Mapping):
                    raise TypeError(
                        f"row {number}: got {type(row).__name__} after mapping rows; "
                        "all rows of one export must be mappings or all sequences"
                    )
                if refuse and (len(row) != width or not key_set.issuperset(row)):
                    extra = [k for k in row if k not in key_set]
                    if extra:
                        raise _extra_keys_error(number, extra, keys, key_window)
                out.append(tuple([row.get(k) for k in keys]))
        yield out
        done += len(batch)
        batch = list(islice(it, batch_size))


def iter_batches(
    rows: Iterable[Sequence[Any]] | Iterable[Mapping[Any, Any]],
    columns: Sequence[Any] | None = None,
    batch_size: int = 1000,
    *,
    extra_keys: str = "ignore",
    key_window: int = KEY_WINDOW,
) -> tuple[list[str], Iterator[list[Sequence[Any]]]]:
    """Column names and a lazy iterator of row batches.

    The first row is read immediately (to learn the column names; for streamed mapping rows
    without ``columns``, the first ``key_window`` rows); the rest is read one batch at a time
    as the returned iterator advances, so memory holds at most one batch (or that window).

    :param rows: iterable of sequence rows or of mapping rows (see the module docstring).
    :param columns: column names. For sequence rows they name the fields (and fix the
        width); for mapping rows they are the keys to read, in output order, and other keys
        are left out (see ``extra_keys``). ``None``: ``col_1`` .. ``col_n`` for sequences; for
        mappings the union of the keys of every row (``rows`` a list or tuple) or of the first
        ``key_window`` rows (any other iterable), in first-seen order.
    :param batch_size: rows per batch, >= 1. The last batch may be shorter; no batch is empty.
    :param extra_keys: with ``columns`` given, what a mapping row's other keys do:
        ``"ignore"`` (default: left out, the caller chose the columns) or ``"error"``.
    :param key_window: streamed mapping rows read ahead to learn the columns, >= 1.
    :returns: ``(names, batches)``: ``names`` is a list of ``str`` (``str(key)`` of each
        column); each batch is a list of rows, every row with ``len(names)`` fields in
        column order. Sequence rows are passed through as given (not copied); mapping rows
        become tuples. With empty input, ``names`` is ``columns`` (or ``[]``) and
        ``batches`` yields nothing.
    :raises ValueError: ``batch_size`` < 1; unknown ``extra_keys``; while iterating, a
        sequence row with the wrong number of fields (``row 7: expected 3 fields, got 2``)
        or a mapping row with a key that is not a column, when the columns came from the
        first ``key_window`` rows of a stream or ``extra_keys="error"`` (naming the row and keys).
    :raises TypeError: ``rows`` is not iterable; a row that is a string or a scalar; rows
        mixing mappings and sequences (naming the row).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if extra_keys not in EXTRA_KEYS_MODES:
        raise ValueError(f"extra_keys must be one of {EXTRA_KEYS_MODES}, got {extra_keys!r}")
    if isinstance(key_window, bool) or not isinstance(key_window, int) or key_window < 1:
        raise ValueError(f"key_window must be an int >= 1, got {key_window!r}")
    if isinstance(rows, (str, bytes)):
        raise TypeError(f"rows must be an iterable of rows, got {type(rows).__name__}")
    if columns is not None:
        if isinstance(columns, (str, bytes)):
            raise TypeError(f"columns must be a sequence of names, got {type(columns).__name__} {columns!r}")
        columns = list(columns)
    it = iter(rows)
    first: Any = next(it, _NO_ROW)
    if first is _NO_ROW:
        return ([str(c) for c in columns] if columns is not None else []), iter(())

    if isinstance(first, Mapping):
        window: int | None = None
        rest: Iterator = chain((first,), it)
        if columns is not None:
            keys = columns
        elif isinstance(rows, (list, tuple)):  # all rows in memory: every key is known now
            keys = _key_union(rows)
        else:  # streamed: the keys of the first rows; a later new key is an error, never dropped
            ahead = [first, *islice(it, key_window - 1)]
            keys = _key_union(ahead)
            rest = chain(ahead, it)
            window = key_window
        if not keys:
            raise ValueError(
                "row 1: no column to write: columns is empty, or no mapping row has a key"
            )
        return [str(k) for k in keys], _mapping_batches(rest, keys, batch_size, extra_keys, window)

    _check_sequence_type(type(first), 1)
    width = len(first)
    if not width:
        raise ValueError("row 1: a row has no fields; there is no column to write")
    if columns is None:
        # sqlite3.Row (row_factory) is a sequence that knows its column names.
        row_keys = getattr(first, "keys", None) if type(first) is sqlite3.Row else None
        names = [str(k) for k in row_keys()] if row_keys is not None else [f"col_{i}" for i in range(1, width + 1)]
    else:
        names = [str(c) for c in columns]
        if len(names) != width:
            raise ValueError(f"row 1: expected {len(names)} fields (one per column), got {width}")
    return names, _sequence_batches(first, it, len(names), batch_size)


def iter_rows(batches: Iterable[Iterable[Sequence[Any]]]) -> Iterator[Sequence[Any]]:
    """Flatten batches back into rows (the inverse of the batching, lazily).

    :param batches: iterable of batches, e.g. the iterator from :func:`iter_batches`.
    :returns: iterator over the rows, in order.
    """
    return chain.from_iterable(batches)
