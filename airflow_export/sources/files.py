"""File source: rows from a CSV file (first line is the header) or a JSON Lines file.

The file is read line by line, never whole. ``path`` may be a local path or an
``ObjectStoragePath`` (anything with ``.open()``); a ``.gz`` suffix is decompressed.
CSV follows RFC 4180 as read by :mod:`csv`; every value arrives as a string
(empty fields as ``""``). JSON Lines (https://jsonlines.org) gives each line's object
as a mapping; blank lines are skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, ExitStack
from typing import Any

from airflow_export.sources.base import RowSource, SourceError

FORMATS = ("csv", "jsonl")


def infer_format(path: str) -> str:
    """``"csv"`` or ``"jsonl"`` from the file name (``.csv``, ``.jsonl``, ``.ndjson``, optionally ``.gz``).

    :raises ValueError: the suffix says neither; pass ``source_format`` explicitly.
    """
    name = path.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ValueError(f"cannot tell the format of source file {path!r}: pass source_format='csv' or 'jsonl'")


def _open_binary(path: Any, stack: ExitStack) -> Any:
    name = str(path)
    try:
        raw = stack.enter_context(path.open("rb") if hasattr(path, "open") and not isinstance(path, str) else open(os.fspath(path), "rb"))
    except OSError as exc:
        raise SourceError(f"cannot open source file {name}: {exc.strerror or exc}") from exc
    if name.lower().endswith(".gz"):
        raw = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _csv_rows(reader: Iterator[list[str]], name: str) -> Iterator[list[str]]:
    try:
        yield from reader
    except (csv.Error, UnicodeDecodeError) as exc:
        raise SourceError(f"{name}: line {reader.line_num}: {exc}") from exc


def _jsonl_rows(text: io.TextIOBase, name: str) -> Iterator[dict]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{name}: line {number}: invalid JSON: {exc.msg} at column {exc.colno}") from exc
        if not isinstance(value, dict):
            raise SourceError(f"{name}: line {number}: expected a JSON object, got {type(value).__name__}")
        yield value


@contextmanager
def file_rows(path: Any, source_format: str | None = None, *, encoding: str = "utf-8", delimiter: str | None = None) -> Iterator[RowSource]:
    """Open a CSV or JSON Lines file and yield a :class:`RowSource` over its rows.

    :param path: local path or ``ObjectStoragePath``.
    :param source_format: ``"csv"`` or ``"jsonl"``; inferred from the suffix when None.
    :param encoding: text encoding (``utf-8-sig`` strips a BOM).
    :param delimiter: CSV field delimiter; default tab for ``.tsv`` files, else comma.
    :raises SourceError: the file cannot be opened or a line cannot be parsed (names the line).
    :raises ValueError: unknown ``source_format``.
    """
    name = str(path)
    fmt = source_format or infer_format(name)
    if fmt not in FORMATS:
        raise ValueError(f"source_format must be one of {FORMATS}, got {fmt!r}")
    with ExitStack() as stack:
        raw = _open_binary(path, stack)
        text = stack.enter_context(io.TextIOWrapper(raw, encoding=encoding, newline="" if fmt == "csv" else None))
        if fmt == "csv":
            if delimiter is None:
                delimiter = "\t" if name.lower().removesuffix(".gz").endswith(".tsv") else ","
            reader = csv.reader(text, delimiter=delimiter)
            try:
                header = next(reader, None)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise SourceError(f"{name}: line 1: {exc}") from exc
            yield RowSource(header or [], _csv_rows(reader, name) if header else iter(()), f"file {name}")
        else:
            yield RowSource(None, _jsonl_rows(text, name), f"file {name}")
