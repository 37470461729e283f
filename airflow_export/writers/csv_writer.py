"""Streaming CSV writer: rows in, RFC 4180 CSV files out, memory bounded by one chunk.

:func:`write_csv` reads rows (sequences or mappings, see :mod:`airflow_export.writers.rows`)
``chunk_size`` at a time, turns each chunk into text column by column (the forms of
:mod:`airflow_export.writers.values`), quotes with the stdlib :mod:`csv` C writer and writes
the encoded bytes through :class:`~airflow_export.writers.output.AtomicOutput` (temporary
file, renamed when complete). Peak memory is one chunk of rows plus its text; it does not
grow with the number of rows.

Format (RFC 4180, https://www.rfc-editor.org/rfc/rfc4180):

* records end with ``lineterminator`` (CRLF by default); the header (column names) is
  the first record of every file when ``header=True``;
* a field holding the delimiter, the quote character, CR or LF is enclosed in quotes and
  its quotes are doubled (``quoting="minimal"``); every such field reads back intact with
  :func:`csv.reader`. With ``lineterminator="\\n"`` or ``"\\r"`` a row holding a field with
  the *other* line-break character is written with every field quoted (Python 3.11's
  csv only quotes characters of its own line terminator), so it still reads back intact;
* ``quoting="nonnumeric"`` quotes every field except numbers (int, float, Decimal; NaN
  and infinities included); ``"all"`` quotes every field; ``"none"`` quotes nothing and
  raises :class:`ValueError` naming row and column for a field that would need quoting;
* the text of each value is the documented form of :mod:`airflow_export.writers.values`
  (``None`` -> ``null_marker``, bool -> ``true``/``false``, float -> shortest repr,
  Decimal without exponent, datetimes ISO 8601, bytes hex, dict/list compact JSON);
* formula guard (on by default, OWASP "CSV Injection"): a *string* cell, and a column
  name in the header, beginning with ``=``, ``+``, ``-``, ``@``, tab or CR is written with
  a ``'`` prefix. Numbers are never changed (the int ``-5`` stays ``-5``).

Files: ``compression="gzip"`` (or a path ending in ``.gz``) writes gzip with ``mtime=0``, no
file name in the gzip header and compression level 6, so the same rows give
byte-identical files on every run. With ``max_rows_per_file`` and/or
``max_bytes_per_file`` the output rolls over to parts named by
:func:`~airflow_export.writers.output.part_path` (``flights.part-00001.csv`` ...), each with
its own BOM and header. ``max_bytes_per_file`` counts *uncompressed* bytes (BOM, header
and rows) and is checked row by row: a file never holds more, except a file holding a
single row that alone (with BOM and header) exceeds the limit.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, BinaryIO

from airflow_export.writers.output import AtomicOutput, PendingFile
from airflow_export.writers.result import ExportedFile, ExportResult
from airflow_export.writers.rows import iter_batches
from airflow_export.writers.values import csv_batch, guard_formula

__all__ = ["CsvOptions", "QUOTING_NAMES", "write_csv"]

#: ``quoting`` names and the :mod:`csv` constants they stand for.
QUOTING_NAMES: dict[str, int] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}
LINE_TERMINATORS = ("\r\n", "\n", "\r")
COMPRESSIONS = (None, "gzip")
GZIP_LEVEL = 6
_BUFFER_BYTES = 1 << 20


@dataclass(frozen=True)
class CsvOptions:
    """The validated options of :func:`write_csv` (all keyword-only there).

    :param delimiter: field separator, one character, not CR/LF/the quote character.
    :param quotechar: quote character, one character, not CR/LF.
    :param quoting: ``"minimal"`` (default), ``"all"``, ``"nonnumeric"``, ``"none"``, or
        the matching ``csv.QUOTE_*`` int. Stored as the int.
    :param lineterminator: ``"\\r\\n"`` (RFC 4180, default), ``"\\n"`` or ``"\\r"``.
    :param header: write the column names as the first record of every file.
    :param encoding: any Python text codec; ``utf-16``/``utf-32`` are written little-endian
        with a BOM; ``utf-8-sig`` means ``utf-8`` with ``bom=True``.
    :param bom: write the byte order mark U+FEFF once at the start of each file (what
        Excel needs to read UTF-8). Only for Unicode encodings.
    :param compression: ``None`` (inferred: ``"gzip"`` when the path ends in ``.gz``) or ``"gzip"``.
    :param null_marker: text written for ``None`` (only for ``None``).
    :param formula_guard: prefix string cells starting with ``= + - @``, tab or CR with ``'``.
    :param max_rows_per_file: roll over to a new part after this many rows (>= 1), or None.
    :param max_bytes_per_file: roll over before a part would exceed this many uncompressed
        bytes (>= 1), or None.
    :param overwrite: replace existing files; if False and the target (first part when
        rolling) exists, fail before reading any row.
    :param progress: ``progress(records_so_far: int)`` called after every chunk, or None.
    :raises ValueError: a bad value, naming the option.
    :raises TypeError: ``progress`` is not callable.
    """

    delimiter: str = ","
    quotechar: str = '"'
    quoting: int | str = "minimal"
    lineterminator: str = "\r\n"
    header: bool = True
    encoding: str = "utf-8"
    bom: bool = False
    compression: str | None = None
    null_marker: str = ""
    formula_guard: bool = True
    max_rows_per_file: int | None = None
    max_bytes_per_file: int | None = None
    overwrite: bool = True
    progress: Callable[[int], Any] | None = None

    def __post_init__(self) -> None:
        for name in ("delimiter", "quotechar"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
                raise ValueError(f"{name} must be one character other than CR and LF, got {value!r}")
        if self.delimiter == self.quotechar:
            raise ValueError(f"delimiter and quotechar must differ, both are {self.delimiter!r}")
        quoting = self.quoting
        if isinstance(quoting, str) and quoting.lower() in QUOTING_NAMES:
            quoting = QUOTING_NAMES[quoting.lower()]
        elif isinstance(quoting, bool) or quoting not in QUOTING_NAMES.values():
            raise ValueError(
                f"quoting must be one of {sorted(QUOTING_NAMES)} or the matching csv.QUOTE_* int, got {quoting!r}"
            )
        object.__setattr__(self, "quoting", quoting)
        if self.lineterminator not in LINE_TERMINATORS:
            raise ValueError(f"lineterminator must be one of {LINE_TERMINATORS!r}, got {self.lineterminator!r}")
        for name in ("header", "bom", "formula_guard", "overwrite"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.encoding, str):
            raise ValueError(f"encoding must be a codec name, got {self.encoding!r}")
        try:
            info = codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"encoding {self.encoding!r} is not a known Python codec") from None
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError(f"encoding {self.encoding!r} is not a text encoding")
        if self.bom and info.name not in _BOM_CODECS:
            raise ValueError(f"bom=True needs a Unicode encoding (utf-8, utf-16, utf-32), got encoding {self.encoding!r}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS!r}, got {self.compression!r}")
        if not isinstance(self.null_marker, str):
            raise ValueError(f"null_marker must be a string, got {self.null_marker!r}")
        for name in ("max_rows_per_file", "max_bytes_per_file"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be None or an int >= 1, got {value!r}")
        if self.progress is not None and not callable(self.progress):
            raise TypeError(f"progress must be a callable progress(records_so_far) or None, got {self.progress!r}")

    @classmethod
    def from_kwargs(cls, **options: Any) -> "CsvOptions":
        """Build from keyword options, rejecting unknown names.

        :raises TypeError: an unknown option, naming it (with the closest valid name, if
            any) and listing the valid ones.
        """
        valid = [f.name for f in fields(cls)]
        for name in options:
            if name not in valid:
                close = difflib.get_close_matches(name, valid, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(f"write_csv() got an unknown option {name!r}{hint}; valid options: {', '.join(valid)}")
        return cls(**options)


# Normalised codec name -> (codec to encode rows with, BOM bytes, BOM forced).
_BOM_CODECS: dict[str, tuple[str, bytes, bool]] = {
    "utf-8": ("utf-8", codecs.BOM_UTF8, False),
    "utf-8-sig": ("utf-8", codecs.BOM_UTF8, True),
    "utf-16": ("utf-16-le", codecs.BOM_UTF16_LE, True),
    "utf-16-le": ("utf-16-le", codecs.BOM_UTF16_LE, False),
    "utf-16-be": ("utf-16-be", codecs.BOM_UTF16_BE, False),
    "utf-32": ("utf-32-le", codecs.BOM_UTF32_LE, True),
    "utf-32-le": ("utf-32-le", codecs.BOM_UTF32_LE, False),
    "utf-32-be": ("utf-32-be", codecs.BOM_UTF32_BE, False),
}


class _ListSink:
    """A file-like ``write`` that appends to a list: csv.writer writes one string per row."""

    __slots__ = ("write",)

    def __init__(self, parts: list[str]) -> None:
        self.write = parts.append


def _resolve_compression(path: str, compression: str | None) -> str | None:
    if compression is None and path.lower().endswith(".gz"):
        return "gzip"
    return compression


class _CsvFiles:
    """The files of one export, opened lazily, rolled by rows/bytes, committed together."""

    def __init__(self, output: AtomicOutput, opts: CsvOptions, codec: str, bom: bytes, header: bytes,
                 compression: str | None) -> None:
        self.output = output
        self.opts = opts
        self.codec = codec
        self.preamble = bom + header
        self.compression = compression
        self.pending: PendingFile | None = None
        self.stream: BinaryIO | gzip.GzipFile | None = None
        self.raw: BinaryIO | None = None
        self.records = 0  # in the current file
        self.bytes = 0  # uncompressed, in the current file
        self.full = False  # the current file takes no more rows
        self.count = 0

    def open_next(self) -> None:
        self.finish()
        self.pending = self.output.new_file()
        self.raw = self.pending.open(_BUFFER_BYTES)
        if self.compression == "gzip":
            self.stream = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=GZIP_LEVEL, mtime=0)
        else:
            self.stream = self.raw
        self.records = 0
        self.bytes = 0
        self.full = False
        self.count += 1
        if self.preamble:
            self.stream.write(self.preamble)
            self.bytes = len(self.preamble)

    def finish(self) -> None:
        """Complete the current file (gzip trailer, flush, fsync, close)."""
        if self.pending is None:
            return
        if self.stream is not self.raw:
            self.stream.close()
        self.pending.records = self.records
        self.pending.close()
        self.pending = self.stream = self.raw = None

    def discard(self) -> None:
        """On failure: detach a gzip stream so it writes nothing to the closed temp file."""
        if isinstance(self.stream, gzip.GzipFile):
            self.stream.fileobj = None
        self.stream = None

    def write_rows(self, parts: list[str]) -> None:
        """Write row texts (one string per row), rolling over as the limits say."""
        max_rows = self.opts.max_rows_per_file
        max_bytes = self.opts.max_bytes_per_file
        codec = self.codec
        if max_rows is None and max_bytes is None:
            if self.pending is None:
                self.open_next()
            self._write("".join(parts).encode(codec), len(parts))
            return
        start, end = 0, len(parts)
        while start < end:
            if self.pending is None or self.full:
                self.open_next()
            take = end - start
            if max_rows is not None:
                take = min(take, max_rows - self.records)
            data = "".join(parts[start : start + take]).encode(codec)
            if max_bytes is not None and self.bytes + len(data) > max_bytes:
                room = max_bytes - self.bytes
                fit = 0
                for text in parts[start : start + take]:
                    room -= len(text.encode(codec))
                    if room < 0:
                        break
                    fit += 1
                if fit == 0 and self.records:
                    self.full = True  # not even one more row fits: next file
                    continue
                take = max(fit, 1)  # a single row over the limit goes alone into a file
                data = "".join(parts[start : start + take]).encode(codec)
                self.full = True
            self._write(data, take)
            start += take
            if max_rows is not None and self.records >= max_rows:
                self.full = True

    def _write(self, data: bytes, rows: int) -> None:
        self.stream.write(data)
        self.records += rows
        self.bytes += len(data)

    def ensure_one(self) -> None:
        """Make sure at least one file exists (empty input still gives a header-only file)."""
        if self.count == 0:
            self.open_next()


def _holds_any(text: str, chars: str) -> bool:
    return any(ch in text for ch in chars)


def _stray_break_cell(row: Sequence[Any], chars: str) -> int | None:
    """Index of the first string cell of ``row`` holding one of ``chars``, or None."""
    for index, cell in enumerate(row):
        if isinstance(cell, str) and any(ch in cell for ch in chars):
            return index
    return None


def _describe_csv_error(batch: Sequence[Sequence[Any]], names: list[str], first_row: int,
                        dialect: dict[str, Any], error: Exception) -> ValueError:
    """Turn a csv.Error for a chunk into a ValueError naming the row and column."""
    probe = csv.writer(_ListSink([]), **dialect)
    for index, row in enumerate(batch):
        try:
            probe.writerow(row)
        except csv.Error:
            for column, cell in zip(names, row):
                try:
                    probe.writerow(["x", cell])
                except csv.Error as exc:
                    return ValueError(
                        f"row {first_row + index}, column {column!r}: value {str(cell)[:40]!r} cannot be "
                        f"written with quoting='none' ({exc}); use quoting='minimal'"
                    )
            return ValueError(f"row {first_row + index}: {error}")
    return ValueError(f"rows {first_row}..{first_row + len(batch) - 1}: {error}")


def _describe_encode_error(parts: list[str], names: list[str], first_row: int, codec: str,
                           dialect: dict[str, Any], error: UnicodeEncodeError) -> ValueError:
    """Turn an encoding failure for a chunk into a ValueError naming the row and column."""
    for index, text in enumerate(parts):
        try:
            text.encode(codec)
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            try:
                cells = next(csv.reader([text], **{k: v for k, v in dialect.items() if k != "lineterminator"}), [])
            except (csv.Error, ValueError):
                cells = []
            column = next((names[i] for i, cell in enumerate(cells[: len(names)]) if bad in cell), None)
            where = f"row {first_row + index}" + (f", column {column!r}" if column is not None else "")
            return ValueError(f"{where}: character {bad!r} cannot be encoded in {codec}")
    return ValueError(str(error))


def write_csv(
    rows: Iterable[Sequence[Any]] | Iterable[Mapping[Any, Any]],
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    chunk_size: int = 1000,
    **options: Any,
) -> ExportResult:
    """Stream ``rows`` into a CSV file (or rolled-over parts) at ``path``, atomically.

    :param rows: iterable of sequence rows or of mapping rows, consumed lazily
        (see :func:`airflow_export.writers.rows.iter_batches` for columns and uneven rows).
    :param path: target file path; parent directories are created. Nothing stands at the
        path until the export has succeeded (temporary file + rename).
    :param columns: column names (header and, for mappings, the keys to read); ``None``:
        ``col_1..col_n`` for sequences, the first mapping's keys for mappings.
    :param chunk_size: rows converted and written at a time, >= 1; memory holds one chunk.
    :param options: keyword options, see :class:`CsvOptions`: ``delimiter=","``,
        ``quotechar='"'``, ``quoting="minimal"``, ``lineterminator="\\r\\n"``,
        ``header=True``, ``encoding="utf-8"``, ``bom=False``, ``compression=None``,
        ``null_marker=""``, ``formula_guard=True``, ``max_rows_per_file=None``,
        ``max_bytes_per_file=None``, ``overwrite=True``, ``progress=None``.
    :returns: :class:`ExportResult` with ``format="csv"``, ``path`` = the first file,
        ``records`` = data rows (header excluded), ``bytes`` = bytes on disk summed over
        the files (after compression), ``duration_seconds`` = wall time of this call
        (reading the rows included), ``files`` = one entry per file with its SHA-256.
        Empty input gives a header-only file (``records=0``); empty input with no
        columns gives an empty file.
    :raises TypeError: an unknown option (naming it and listing the valid ones); a value
        without a text form (``row 17, column 'price': cannot render value of type object``);
        a row that is not a sequence or mapping.
    :raises ValueError: a bad option value or ``chunk_size`` (naming it); a row with the
        wrong number of fields (naming the row, expected and actual count); a field that
        ``quoting="none"`` cannot write or a character the encoding cannot encode
        (naming row and column).
    :raises OutputError: the target exists and ``overwrite=False`` (before any row is
        read); the directory cannot be created or written.
    On any error no file is left at the target path(s) and earlier files there are untouched.
    """
    started = time.perf_counter()
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
    opts = CsvOptions.from_kwargs(**options)
    path = os.fspath(path)
    compression = _resolve_compression(path, opts.compression)
    codec_name = codecs.lookup(opts.encoding).name
    codec, bom_bytes, bom_forced = _BOM_CODECS.get(codec_name, (codec_name, b"", False))
    bom = bom_bytes if (opts.bom or bom_forced) else b""
    rolling = opts.max_rows_per_file is not None or opts.max_bytes_per_file is not None
    quoting = opts.quoting
    dialect = {
        "delimiter": opts.delimiter,
        "quotechar": opts.quotechar,
        "quoting": quoting,
        "lineterminator": opts.lineterminator,
        "doublequote": True,
        "strict": True,
    }
    # Python 3.11's csv quotes CR/LF only if they are in its line terminator: find the others.
    stray_breaks = ""
    if quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE):
        stray_breaks = "".join(ch for ch in "\r\n" if ch not in opts.lineterminator)
    null_marker = opts.null_marker
    guard = opts.formula_guard
    progress = opts.progress

    with AtomicOutput(path, overwrite=opts.overwrite, parts=rolling) as output:
        names, batches = iter_batches(rows, columns, chunk_size)
        width = len(names)
        parts: list[str] = []
        writer = csv.writer(_ListSink(parts), **dialect)
        quote_all = csv.writer(_ListSink(parts), **{**dialect, "quoting": csv.QUOTE_ALL})
        header_names = [guard_formula(n) for n in names] if guard else names
        header = b""
        if opts.header and width:
            try:
                writer.writerow(header_names)
                if stray_breaks and _holds_any(parts[0], stray_breaks):
                    if quoting == csv.QUOTE_NONE:
                        raise csv.Error("a line break cannot be written unquoted")
                    parts.clear()
                    quote_all.writerow(header_names)
                header = "".join(parts).encode(codec)
            except csv.Error as exc:
                raise ValueError(f"header: column name cannot be written with quoting='none' ({exc})") from None
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"header: character {exc.object[exc.start:exc.end]!r} cannot be encoded in {codec}"
                ) from None
            parts.clear()
        # No columns at all (empty input, none given): an empty file, not even a BOM.
        files = _CsvFiles(output, opts, codec, bom if width else b"", header, compression)
        total = 0
        try:
            for batch in batches:
                first_row = total + 1
                cells = csv_batch(batch, names, null_marker=null_marker, formula_guard=guard, first_row=first_row)
                try:
                    writer.writerows(cells)
                    if stray_breaks and _holds_any("".join(parts), stray_breaks):
                        # Rare: a CR or LF that is not part of the line terminator. Rewrite the
                        # chunk, quoting every field of the rows holding one.
                        parts.clear()
                        for index, row in enumerate(cells):
                            bad = _stray_break_cell(row, stray_breaks)
                            if bad is None:
                                writer.writerow(row)
                            elif quoting == csv.QUOTE_NONE:
                                raise ValueError(
                                    f"row {first_row + index}, column {names[bad]!r}: a line break cannot be "
                                    "written with quoting='none'; use quoting='minimal'"
                                )
                            else:
                                quote_all.writerow(row)
                except csv.Error as exc:
                    raise _describe_csv_error(cells, names, first_row, dialect, exc) from None
                try:
                    files.write_rows(parts)
                except UnicodeEncodeError as exc:
                    raise _describe_encode_error(parts, names, first_row, codec, dialect, exc) from None
                parts.clear()
                total += len(batch)
                if progress is not None:
                    progress(total)
            files.ensure_one()
            files.finish()
        except BaseException:
            files.discard()
            raise
        exported: list[ExportedFile] = output.commit()
    duration = time.perf_counter() - started
    return ExportResult(
        path=exported[0].path,
        format="csv",
        records=sum(f.records for f in exported),
        bytes=sum(f.bytes for f in exported),
        duration_seconds=duration,
        files=tuple(exported),
    )
