"""Streaming CSV writer: rows in, RFC 4180 CSV files out, memory bounded by one chunk.

:func:`write_csv` reads rows ``chunk_size`` at a time, renders each chunk's text
(:class:`~airflow_export.writers.csv.render.ChunkRenderer`: the fast join path or the stdlib
:mod:`csv` C writer, the same bytes) and writes it through the writer frame's
:class:`~airflow_export.writers.frame.FileSeries` (atomic temporary files, rolling, result).
The format (quoting, nulls versus empty strings, the formula guard, encodings, gzip) and every
option are described once in docs/formats.md ("CSV"); the value forms in "Values".
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO

from airflow_export.writers.csv.options import EMPTY_STRING_MODES, GZIP_LEVEL, QUOTING_NAMES, CsvOptions
from airflow_export.writers.csv.render import (
    ChunkRenderer,
    ListSink,
    render_huge_ints,
)
from airflow_export.writers.encoding import UnencodableTextError, locate, unencodable_in
from airflow_export.writers.frame import ExportResult, FileRenderer, FileSeries, check_positive_int
from airflow_export.writers.rows import iter_batches
from airflow_export.writers.values import guard_formula

__all__ = ["EMPTY_STRING_MODES", "QUOTING_NAMES", "CsvOptions", "write_csv"]


class CsvFiles(FileRenderer):
    """The edges of each CSV file: the BOM and header first, gzip around the bytes if asked.

    :param preamble: the BOM and header bytes every file starts with.
    :param compression: ``"gzip"`` or None.
    """

    def __init__(self, preamble: bytes, compression: str | None) -> None:
        self.preamble = preamble
        self.compression = compression
        self.gzip: gzip.GzipFile | None = None

    def begin_file(self, fh: BinaryIO) -> int:
        if self.compression == "gzip":
            # mtime=0 and no file name: the same rows give byte-identical files.
            self.gzip = gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=GZIP_LEVEL, mtime=0)
            self.stream = self.gzip
        else:
            self.stream = fh
        if self.preamble:
            self.stream.write(self.preamble)
        return len(self.preamble)

    def end_file(self) -> None:
        if self.gzip is not None:
            self.gzip.close()  # the trailer; the series then fsyncs and closes the file
            self.gzip = None
        self.stream = None

    def discard_file(self) -> None:
        if self.gzip is not None:
            self.gzip.fileobj = None  # type: ignore[assignment]  # write nothing more to the closed file
            self.gzip = None
        self.stream = None


def _header_bytes(names: list[str], opts: CsvOptions, dialect: dict[str, Any], stray_breaks: str, codec: str) -> bytes:
    """The header record, encoded (b"" without header or columns).

    :raises ValueError: a column name ``quoting="none"`` cannot write, or the codec cannot encode.
    """
    if not (opts.header and names):
        return b""
    parts: list[str] = []
    header_names = [guard_formula(n) for n in names] if opts.formula_guard else names
    try:
        csv.writer(ListSink(parts), **dialect).writerow(header_names)
        if stray_breaks and any(ch in parts[0] for ch in stray_breaks):
            if opts.quoting == csv.QUOTE_NONE:
                raise csv.Error("a line break cannot be written unquoted")
            parts.clear()
            csv.writer(ListSink(parts), **{**dialect, "quoting": csv.QUOTE_ALL}).writerow(header_names)
        return "".join(parts).encode(codec)
    except csv.Error as exc:
        raise ValueError(f"header: column name cannot be written with quoting='none' ({exc})") from None
    except UnicodeEncodeError as exc:
        raise UnencodableTextError("header", exc.object[exc.start], codec) from None


def csv_dialect(opts: CsvOptions) -> tuple[dict[str, Any], str]:
    """The :mod:`csv` dialect of ``opts`` and the line-break characters it does not quote itself."""
    quoting = opts.quoting
    dialect = {"delimiter": opts.delimiter, "quotechar": opts.quotechar, "quoting": quoting,
               "lineterminator": opts.lineterminator, "doublequote": True, "strict": True}
    # Python 3.11's csv quotes CR/LF only if they are in its line terminator: find the others.
    stray_breaks = ""
    if quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE):
        stray_breaks = "".join(ch for ch in "\r\n" if ch not in opts.lineterminator)
    return dialect, stray_breaks


def csv_compression(path: str, opts: CsvOptions) -> str | None:
    """``opts.compression``, or ``"gzip"`` when it is None and ``path`` ends in ``.gz``."""
    return "gzip" if opts.compression is None and path.lower().endswith(".gz") else opts.compression


def csv_preamble(names: list[str], opts: CsvOptions) -> bytes:
    """What every file starts with: the BOM and the header record (b"" when there are no columns:
    an empty file, not even a BOM).

    :raises ValueError: a column name ``quoting="none"`` cannot write, or the codec cannot encode.
    """
    if not names:
        return b""
    codec, bom = opts.codec_and_bom()
    dialect, stray_breaks = csv_dialect(opts)
    return bom + _header_bytes(names, opts, dialect, stray_breaks, codec)


def write_csv(
    rows: Iterable[Sequence[Any]] | Iterable[Mapping[Any, Any]],
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    chunk_size: int = 1000,
    confine_to: str | os.PathLike[str] | None = None,
    **options: Any,
) -> ExportResult:
    """Stream ``rows`` into a CSV file (or rolled-over parts) at ``path``, atomically.

    :param rows: iterable of sequence rows or of mapping rows, consumed lazily
        (see :func:`airflow_export.writers.rows.iter_batches` for columns and uneven rows).
    :param path: target file path; parent directories are created. Nothing stands at the
        path until the export has succeeded (temporary file + rename).
    :param columns: column names (header and, for mappings, the keys to read); ``None``:
        ``col_1..col_n`` for sequences, every key for mappings (see ``iter_batches``).
    :param chunk_size: rows converted and written at a time, >= 1; memory holds one chunk.
    :param confine_to: the export root, or None: the target's directory, as opened (after
        every symlink), must lie inside it.
    :param options: keyword options, see :class:`CsvOptions` and docs/formats.md.
    :returns: :class:`~airflow_export.writers.frame.ExportResult` with ``format="csv"``,
        ``path`` = the first file, ``records`` = data rows (header excluded), ``bytes`` =
        bytes on disk summed over the files (after compression), ``duration_seconds`` = wall
        time of this call (reading the rows included), ``files`` = one entry per file with its
        SHA-256, ``formula_guarded_cells`` = text cells the formula guard prefixed. Empty input gives
        a header-only file (``records=0``); empty input with no
        columns gives an empty file. Files: ``path`` while one file suffices, else every file
        is a part ``NAME.part-00001.csv`` ... (each with its BOM and header).
    :raises TypeError: an unknown option (naming it, the closest valid name and the valid
        ones); ``progress`` not callable; a value without a text form,
        :class:`~airflow_export.writers.values.UnrenderableValueError` (``row 17, column
        'price': cannot render value of type object``); a row that is not a sequence or mapping.
    :raises ValueError: a bad option value or ``chunk_size`` (naming it), or a contradiction
        between options; a row with the wrong number of fields (naming the row, expected and
        actual count); a field that ``quoting="none"`` cannot write; a character the encoding
        cannot encode, e.g. a lone UTF-16 surrogate (naming row and column, or the header:
        :class:`~airflow_export.writers.encoding.UnencodableTextError`).
    :raises OutputError: the target exists and ``overwrite=False`` (before any row is read);
        the directory cannot be created or written; it lies outside ``confine_to``
        (:class:`~airflow_export.writers.frame.OutputOutsideRootError`).
    On any error no file is left at the target path(s) and earlier files there are untouched.
    """
    check_positive_int("chunk_size", chunk_size)
    opts = CsvOptions.from_kwargs(**options)
    path = os.fspath(path)
    codec, _ = opts.codec_and_bom()
    dialect, stray_breaks = csv_dialect(opts)
    progress = opts.progress
    files = CsvFiles(b"", csv_compression(path, opts))
    with FileSeries(path, "csv", files, overwrite=opts.overwrite, max_rows_per_file=opts.max_rows_per_file,
                    max_bytes_per_file=opts.max_bytes_per_file, confine_to=confine_to) as series:
        names, batches = iter_batches(rows, columns, chunk_size)
        files.preamble = csv_preamble(names, opts)
        chunks = ChunkRenderer(names, opts, dialect, stray_breaks)
        rolling = series.rolling
        for batch in batches:
            first_row = series.written + 1
            try:
                texts = chunks.render(batch, first_row, per_row=rolling)
            except ValueError as exc:
                if "integer string conversion" not in str(exc):
                    raise
                texts = render_huge_ints(chunks, batch, first_row, rolling)
            try:
                if rolling:
                    series.write_texts(texts, codec)
                else:
                    series.write(texts[0].encode(codec), len(batch))
            except UnicodeEncodeError as exc:  # the policy for text the encoding cannot hold: docs/adr/0051
                located = locate(batch, names, first_row, opts.null_marker, unencodable_in(codec), codec)
                raise (located or ValueError(str(exc))) from None
            if progress is not None:
                progress(series.written)
        return dataclasses.replace(series.finish(), formula_guarded_cells=chunks.guarded_cells)
