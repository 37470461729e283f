"""File source: rows from a CSV file (first line is the header) or a JSON Lines file.

The file is read line by line, never whole. ``path`` may be a local path or an
``ObjectStoragePath`` (anything with ``.open()``); a ``.gz`` suffix is decompressed. Both are
read by the same code: the bytes are decoded by :class:`io.TextIOWrapper`, which ends a line
only at ``\\n``, ``\\r\\n`` (and, for CSV, a lone ``\\r``), never at U+2028, U+0085 or
``\\x1c``-``\\x1e`` (which :meth:`str.splitlines` would split at): those are data.
CSV follows RFC 4180 as read by :mod:`csv` in strict mode; every value arrives as a string
(empty fields as ``""``); a field may be of any length (Python's default limit of 131,072
characters is lifted, docs/adr/0052), so memory holds one record, however long. JSON Lines
(https://jsonlines.org) gives each line's object as a mapping; only ``\\n`` ends a line (a
``\\r`` before it is JSON whitespace); blank lines are skipped; integers keep every digit.
With the default UTF-8 encoding a UTF-8 byte order mark at the start of the file (what
Excel writes) is skipped, so it never becomes part of the first column name or of the first
JSON line.

Every failure while reading is a :class:`~airflow_export.sources.base.SourceError` naming
the file and the line: a malformed CSV record (e.g. text after a closing quote; a quote
character inside an unquoted field, ``1,x"y``, is kept as data, as Python's csv module does),
a quoted field still open at the end of the file (an unterminated quote, named by the line
where the field starts), bytes that are not valid in the encoding, invalid JSON, and a
``.gz`` file that is not gzip, is truncated or corrupt (the line is the last one read before
the damage).
"""

from __future__ import annotations

import codecs
import csv
import ctypes
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from typing import Any

from airflow_export.sources.base import RowSource, SourceError

FORMATS = ("csv", "jsonl")
#: The largest ``csv.field_size_limit`` (a C long): a CSV field of any length is data.
_ANY_FIELD_LENGTH = 2 ** (8 * ctypes.sizeof(ctypes.c_long) - 1) - 1
#: Errors of the byte stream while reading: a damaged ``.gz`` (``gzip.BadGzipFile`` is an
#: OSError, a truncated one EOFError, corrupt deflate data zlib.error), I/O errors, bad bytes.
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError)


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
        if hasattr(path, "open") and not isinstance(path, str):
            raw = stack.enter_context(path.open("rb"))
        else:
            raw = stack.enter_context(open(os.fspath(path), "rb"))  # noqa: SIM115 - closed by the ExitStack
    except OSError as exc:
        raise SourceError(f"cannot open source file {name}: {exc.strerror or exc}") from exc
    if name.lower().endswith(".gz"):
        raw = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _read_error(name: str, line: int, exc: BaseException) -> SourceError:
    """A SourceError for a failure of the byte stream after ``line`` complete lines (text is
    decoded and decompressed in blocks, so the damage is somewhere after that line)."""
    where = f"after line {line}" if line else "before line 1 was complete"
    if isinstance(exc, UnicodeDecodeError):
        bad = exc.object[exc.start : exc.end]
        return SourceError(f"{name}: {where}: bytes not valid in {exc.encoding}: {bad!r} ({exc.reason})")
    kind = "zlib.error" if isinstance(exc, zlib.error) else type(exc).__name__
    damaged = isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error))
    what = "not gzip, or corrupt or truncated gzip data" if damaged else "read error"
    return SourceError(f"{name}: {what} {where}: {kind}: {exc}")


def _csv_error(name: str, reader: Any, start: int, exc: Exception) -> SourceError:
    """A SourceError for an exception of a strict :func:`csv.reader` whose current record
    starts at line ``start``."""
    if isinstance(exc, csv.Error):
        if str(exc) == "unexpected end of data":  # strict mode: EOF inside a quoted field
            return SourceError(
                f"{name}: line {start}: unterminated quoted field: no closing quote before the end of the file"
            )
        return SourceError(f"{name}: line {reader.line_num}: {exc}")
    return _read_error(name, start - 1, exc)


def _csv_record(reader: Any, name: str) -> list[str] | None:
    """The next record of ``reader`` (a strict :func:`csv.reader`), or None at the end.

    :raises SourceError: naming the file and line (see the module docstring).
    """
    start = reader.line_num + 1
    try:
        return next(reader, None)
    except (csv.Error, *_READ_ERRORS) as exc:
        raise _csv_error(name, reader, start, exc) from exc


def _csv_rows(reader: Any, name: str) -> Iterator[list[str]]:
    """The records of ``reader`` after the header; errors as in :func:`_csv_record`."""
    end = reader.line_num  # the last line of the last record read: one attribute read per record
    try:
        for row in reader:
            end = reader.line_num
            yield row
    except (csv.Error, *_READ_ERRORS) as exc:
        raise _csv_error(name, reader, end + 1, exc) from exc


def _jsonl_rows(text: io.TextIOBase, name: str) -> Iterator[dict]:
    number = 0
    lines = iter(text)
    while True:
        try:
            line = next(lines, None)
        except _READ_ERRORS as exc:
            raise _read_error(name, number, exc) from exc
        if line is None:
            return
        number += 1
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{name}: line {number}: invalid JSON: {exc.msg} at column {exc.colno}") from exc
        except ValueError as exc:  # an integer beyond Python's 4,300-digit limit (CVE-2020-10735)
            if "integer string conversion" not in str(exc):
                raise SourceError(f"{name}: line {number}: {exc}") from exc
            # Decimal parses digits in linear time, so the limit's reason does not apply; the
            # writers print an integral Decimal with all its digits.
            value = json.loads(line, parse_int=_parse_json_int)
        if not isinstance(value, dict):
            raise SourceError(f"{name}: line {number}: expected a JSON object, got {type(value).__name__}")
        yield value


def _parse_json_int(text: str) -> int | Decimal:
    """A JSON integer: an ``int``, or a :class:`~decimal.Decimal` beyond ``int``'s digit limit."""
    return int(text) if len(text) <= 4000 else Decimal(text)


@contextmanager
def file_rows(
    path: Any, source_format: str | None = None, *, encoding: str = "utf-8", delimiter: str | None = None
) -> Iterator[RowSource]:
    """Open a CSV or JSON Lines file and yield a :class:`RowSource` over its rows.

    :param path: local path or ``ObjectStoragePath``.
    :param source_format: ``"csv"`` or ``"jsonl"``; inferred from the suffix when None.
    :param encoding: text encoding; ``utf-8`` (default) is read as ``utf-8-sig``, which
        skips a UTF-8 BOM at the start of the file (``utf-16``/``utf-32`` skip theirs too).
    :param delimiter: CSV field delimiter; default tab for ``.tsv`` files, else comma.
    :raises SourceError: the file cannot be opened, a line cannot be parsed or decoded, a
        CSV quoted field is not closed by the end of the file, a ``.gz`` file is not gzip or
        is damaged (each naming the file and the line).
    :raises ValueError: unknown ``source_format`` or ``encoding``.
    """
    name = str(path)
    fmt = source_format or infer_format(name)
    if fmt not in FORMATS:
        raise ValueError(f"source_format must be one of {FORMATS}, got {fmt!r}")
    try:
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"  # the same, but a BOM at the start is skipped
    except LookupError:
        raise ValueError(f"encoding {encoding!r} is not a known Python codec") from None
    with ExitStack() as stack:
        raw = _open_binary(path, stack)
        # newline="": csv sees every line break and decides (quoted ones are data); "\n": JSON Lines' separator.
        text = stack.enter_context(io.TextIOWrapper(raw, encoding=encoding, newline="" if fmt == "csv" else "\n"))
        if fmt == "csv":
            if csv.field_size_limit() < _ANY_FIELD_LENGTH:
                # Process-wide and only ever raised: the default refuses long fields, a JSON blob
                # or a base64 cell, which are data; a quote left open is still an error (at the end).
                csv.field_size_limit(_ANY_FIELD_LENGTH)
            if delimiter is None:
                delimiter = "\t" if name.lower().removesuffix(".gz").endswith(".tsv") else ","
            # strict: a malformed record or a quote left open at the end is an error, not data.
            reader = csv.reader(text, delimiter=delimiter, strict=True)
            header = _csv_record(reader, name)
            yield RowSource(header or [], _csv_rows(reader, name) if header else iter(()), f"file {name}")
        else:
            yield RowSource(None, _jsonl_rows(text, name), f"file {name}")
