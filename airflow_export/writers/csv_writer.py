"""Streaming CSV writer: rows in, RFC 4180 CSV files out, memory bounded by one chunk.

:func:`write_csv` reads rows (sequences or mappings, see :mod:`airflow_export.writers.rows`)
``chunk_size`` at a time, turns each chunk into cells column by column (the forms of
:mod:`airflow_export.writers.values`), makes the chunk's text and writes the encoded bytes
through :class:`~airflow_export.writers.output.AtomicOutput` (temporary file, renamed when
complete). The text is made with ``str.join`` when no text cell of the chunk holds the
delimiter, the quote character, CR or LF (no field then needs quotes, the common case,
about 1.2x the speed of a bare ``csv.writer(f).writerows``), else with the stdlib
:mod:`csv` C writer; both give the same bytes. Peak memory is one chunk of rows plus its
text; it does not grow with the number of rows.

Format (RFC 4180, https://www.rfc-editor.org/rfc/rfc4180):

* records end with ``lineterminator`` (CRLF by default); the header (column names) is
  the first record of every file when ``header=True``;
* a field holding the delimiter, the quote character, CR or LF is enclosed in quotes and
  its quotes are doubled (``quoting="minimal"``); every such field reads back intact with
  :func:`csv.reader`. With ``lineterminator="\\n"`` or ``"\\r"`` a row holding a field with
  the *other* line-break character is written with every field but nulls quoted (Python
  3.11's csv only quotes characters of its own line terminator), so it still reads back
  intact;
* ``quoting="nonnumeric"`` quotes every field except numbers (int, float, Decimal; NaN
  and infinities included); ``"all"`` quotes every field; ``"none"`` quotes nothing and
  raises :class:`ValueError` naming row and column for a field that would need quoting;
* the text of each value is the documented form of :mod:`airflow_export.writers.values`
  (nulls -> ``null_marker``, bool -> ``true``/``false``, float -> shortest repr,
  Decimal without exponent, datetimes ISO 8601, bytes hex, dict/list compact JSON);
* **nulls versus empty strings** (``empty_string="quoted"``, the default): the convention
  of PostgreSQL's ``COPY ... (FORMAT csv)``
  (https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-CSV-FORMAT). A null
  (``None``, ``pandas.NA``, ``pandas.NaT``, NaT) is the null marker *unquoted* in every
  quoting mode (like PostgreSQL's ``FORCE_QUOTE *``, which never quotes NULL); an empty
  string is the *quoted* empty field ``""``; a non-numeric text equal to a non-empty null
  marker is quoted (``"NULL"``). With the default ``null_marker=""``::

      None, "", "x"    ->  ,"",x          (quoting="minimal")
      None, "", "x"    ->  ,"","x"        (quoting="all" or "nonnumeric")

  A row of a single column holding a null is therefore an empty line (as in PostgreSQL;
  RFC 4180 reads it as one empty field, :func:`csv.reader` gives ``[]`` and pandas'
  ``read_csv`` skips it unless ``skip_blank_lines=False``), and a single empty string is
  the line ``""``. Numbers are never quoted, so a number whose text equals the marker
  (``null_marker="0"``) is not told apart: choose a marker no number prints as, e.g.
  ``\\N``. ``quoting="none"`` cannot quote: there an empty string is an empty field, so
  it needs a non-empty ``null_marker`` (``quoting="none"`` with ``null_marker=""`` is a
  :class:`ValueError` at option validation, naming both options; pass e.g.
  ``null_marker="\\N"``, or ``empty_string="empty"``), and a text equal to the marker
  raises :class:`ValueError` naming row and column, as any field ``"none"`` cannot write
  does::

      None, "", "x"    ->  \\N,,x           (quoting="none", null_marker="\\N")

  ``empty_string="empty"``
  turns the convention off and writes what Python's :mod:`csv` writes: ``""`` and ``None``
  both as an empty field, quoted where the quoting mode quotes (Python 3.11 has no
  ``QUOTE_NOTNULL``). How: the writer puts *stand-in* cells (a control character, quoted)
  where a null or an empty string must be written otherwise than :mod:`csv` would, and
  replaces their text afterwards in the chunk's text; a chunk whose data holds the
  stand-in characters is redone with characters it does not hold, so the output is exact
  whatever the data;
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
single row that alone (with BOM and header) exceeds the limit. Each file's SHA-256 and
size are taken from its bytes as they are written (no second read), and each file is
fsync'ed once, when complete.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import compress, count
from dataclasses import dataclass, fields
from typing import Any, BinaryIO

from airflow_export.writers.output import AtomicOutput, PendingFile
from airflow_export.writers.result import ExportedFile, ExportResult
from airflow_export.writers.rows import iter_batches
from airflow_export.writers.values import KIND_MIXED, CsvChunk, csv_chunk, guard_formula

__all__ = ["CsvOptions", "EMPTY_STRING_MODES", "QUOTING_NAMES", "write_csv"]

#: ``quoting`` names and the :mod:`csv` constants they stand for.
QUOTING_NAMES: dict[str, int] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}
LINE_TERMINATORS = ("\r\n", "\n", "\r")
#: ``empty_string`` values: PostgreSQL's convention, or Python's csv rules.
EMPTY_STRING_MODES = ("quoted", "empty")
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
        with a BOM (the BOM is what tells their byte order); ``utf-8-sig`` means ``utf-8``
        with a BOM. For UTF-16/32 without a BOM name the byte order: ``utf-16-le``, ``utf-16-be`` ...
    :param bom: write the byte order mark U+FEFF once at the start of each file (what
        Excel needs to read UTF-8). ``None`` (default): only where the encoding's name
        demands one (``utf-16``, ``utf-32``, ``utf-8-sig``); ``True``: always (Unicode
        encodings only); ``False``: never, and an encoding that demands one is an error.
        Stored resolved, as True or False.
    :param compression: ``None`` (inferred: ``"gzip"`` when the path ends in ``.gz``) or ``"gzip"``.
    :param null_marker: text written for a null (``None``, ``pandas.NA``, ``pandas.NaT``,
        NaT ``numpy.datetime64``/``timedelta64``), and only for a null. With
        ``empty_string="quoted"`` it is written unquoted, so it may not hold the delimiter,
        the quote character, CR or LF (as in PostgreSQL).
    :param empty_string: ``"quoted"`` (default): an empty string is written ``""`` and a
        null unquoted, in every quoting mode (PostgreSQL's ``COPY ... CSV``; see the
        module docstring); ``"empty"``: Python's csv rules, ``""`` and ``None`` alike.
        ``quoting="none"`` cannot write ``""``: there an empty string is an empty field,
        so ``"quoted"`` needs a non-empty ``null_marker`` (else :class:`ValueError`).
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
    bom: bool | None = None
    compression: str | None = None
    null_marker: str = ""
    empty_string: str = "quoted"
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
        for name in ("header", "formula_guard", "overwrite"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.bom is not None and not isinstance(self.bom, bool):
            raise ValueError(f"bom must be True, False or None, got {self.bom!r}")
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
        codec_bom = _BOM_CODECS.get(info.name)
        forced = codec_bom is not None and codec_bom[2]
        if self.bom is False and forced:
            raise ValueError(
                f"bom=False contradicts encoding {self.encoding!r}, which starts every file with a byte order "
                f"mark; for no BOM name the byte order, e.g. encoding={_NO_BOM_CODEC[info.name]!r}"
            )
        object.__setattr__(self, "bom", bool(self.bom) or forced)
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS!r}, got {self.compression!r}")
        if not isinstance(self.null_marker, str):
            raise ValueError(f"null_marker must be a string, got {self.null_marker!r}")
        if self.empty_string not in EMPTY_STRING_MODES:
            raise ValueError(f"empty_string must be one of {EMPTY_STRING_MODES!r}, got {self.empty_string!r}")
        if self.empty_string == "quoted" and quoting == csv.QUOTE_NONE and not self.null_marker:
            raise ValueError(
                "quoting='none' with empty_string='quoted' needs a null_marker: unquoted, an empty string "
                "and a null (null_marker='') would both be an empty field; pass null_marker (e.g. "
                "null_marker='\\N') to keep them apart, or empty_string='empty' to write both as an empty field"
            )
        if self.empty_string == "quoted":
            for char, name in ((self.delimiter, "the delimiter"), (self.quotechar, "the quote character"),
                               ("\r", "CR"), ("\n", "LF")):
                if char in self.null_marker:
                    raise ValueError(
                        f"null_marker {self.null_marker!r} holds {name} ({char!r}); a null is written "
                        "unquoted, so it cannot (or use empty_string='empty')"
                    )
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
#: For the codecs whose name demands a BOM: the codec that writes the same without one.
_NO_BOM_CODEC = {"utf-8-sig": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}


_TUPLE_ONLY = {tuple}


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
        # SHA-256 and size are taken from the bytes as they are written: no re-read at commit.
        self.raw = self.pending.open(_BUFFER_BYTES, hashing=True)
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

    def write_text(self, text: str, rows: int) -> None:
        """Write the text of ``rows`` rows to the one file of an export that does not roll."""
        if self.pending is None:
            self.open_next()
        self._write(text.encode(self.codec), rows)

    def write_rows(self, parts: list[str]) -> None:
        """Write row texts (one string per row), rolling over as the limits say."""
        max_rows = self.opts.max_rows_per_file
        max_bytes = self.opts.max_bytes_per_file
        codec = self.codec
        if max_rows is None and max_bytes is None:
            self.write_text("".join(parts), len(parts))
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


# Stand-in characters, preferred first: C0 controls that text data hardly ever holds (and
# that keep an ASCII chunk ASCII, so encoding stays a copy). Any other is taken when a chunk
# holds these (see _StandIns.other).
_STAND_IN_CHARS = "\x1a\x1c\x1d\x1e\x1f\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"


def _stand_in_candidates() -> Iterable[str]:
    yield from _STAND_IN_CHARS
    for code in range(0xE000, 0xF900):  # the BMP private use area
        yield chr(code)
    for code in range(1, 0x110000):
        if not 0xD800 <= code < 0xE000:
            yield chr(code)


class _StandIns:
    """Stand-in cells for the fields Python 3.11's csv cannot write PostgreSQL's way, and
    the text that replaces their rendering in a chunk's text (see the module docstring).

    Three kinds, each with its own character ``ch``: an empty text (written ``""``, or
    nothing under ``quoting="none"``), a null (written as the null marker, unquoted) and a
    text equal to the null marker (written quoted). The stand-in cell is ``quotechar + ch``,
    which every quoting mode but "none" renders as the token ``qqq ch q``; under "none"
    it is ``ch`` itself. A token in a chunk's text comes from a stand-in or from data
    holding ``ch``; :meth:`apply` replaces the tokens and fails (returns None) when their
    number is not the number of stand-ins, and the chunk is then redone with characters
    the chunk's text does not hold (:meth:`other`), which makes a second failure impossible.

    Which fields need a stand-in: "minimal": empty texts and marker-equal texts always,
    nulls only in a one-column file with an empty marker (csv would write ``""`` for a
    record of one empty field); "all"/"nonnumeric": nulls (csv would quote them); "none":
    in a one-column file, nulls and empty texts (csv refuses a record of one empty field).
    """

    def __init__(self, opts: CsvOptions, width: int, chars: str) -> None:
        quotechar, marker, quoting = opts.quotechar, opts.null_marker, opts.quoting
        bare = quoting == csv.QUOTE_NONE
        empty_char, null_char, marker_char = chars
        self.chars = chars

        def cell(char: str) -> str:
            return char if bare else quotechar + char

        def token(char: str) -> str:
            return char if bare else quotechar * 3 + char + quotechar

        self.null_stand_in = cell(null_char)
        #: The cell for a null in the rows given to csv: a stand-in, or written as is.
        self.null_cell: str | None = self.null_stand_in
        if quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE) and (marker or width > 1):
            self.null_cell = marker or None  # csv writes None as an empty field
        self.null_is_stand_in = self.null_cell is self.null_stand_in
        self.empty_cell: str | None = None
        self.marker_text: str | None = None
        self.marker_cell: str | None = None
        if quoting == csv.QUOTE_MINIMAL:
            self.empty_cell = cell(empty_char)
            if marker:
                self.marker_text = marker
                self.marker_cell = cell(marker_char)
        elif bare and width == 1:
            self.empty_cell = cell(empty_char)
        #: (token, replacement) for empty texts, nulls, marker-equal texts.
        self.replacements = (
            (token(empty_char), "" if bare else quotechar * 2),
            (token(null_char), marker),
            (token(marker_char), quotechar + marker + quotechar),
        )

    @classmethod
    def preferred(cls, opts: CsvOptions, width: int) -> "_StandIns":
        return cls.other(opts, width, set())

    @classmethod
    def other(cls, opts: CsvOptions, width: int, present: set[str]) -> "_StandIns":
        """Stand-ins using three characters absent from ``present`` (a chunk's characters)."""
        taken = present | {opts.delimiter, opts.quotechar, "\r", "\n"}
        chars = ""
        for char in _stand_in_candidates():
            if char not in taken:
                chars += char
                if len(chars) == 3:
                    return cls(opts, width, chars)
        raise ValueError("a chunk holds nearly every Unicode character; use a smaller chunk_size")

    def for_quote_all(self, row: Sequence[Any]) -> tuple[list[Any], int]:
        """``row`` for the quote-all writer: nulls written as is become null stand-ins, so
        they stay unquoted. Returns the row and the number of stand-ins put."""
        if self.null_is_stand_in:
            return list(row), 0
        native = self.null_cell  # None or the marker text (the very object csv_chunk put)
        out = [self.null_stand_in if c is native else c for c in row]
        return out, sum(1 for c in row if c is native)

    def apply(self, texts: list[str], counts: tuple[int, int, int]) -> list[str] | None:
        """``texts`` with every token replaced, or None if a token count is not ``counts``
        (empty texts, nulls, marker-equal texts): the data holds a stand-in character."""
        for (token, text), want in zip(self.replacements, counts):
            if not want:
                continue
            delta = len(text) - len(token)
            if delta:
                before = sum(map(len, texts))
                texts = [t.replace(token, text) for t in texts]
                found = (sum(map(len, texts)) - before) // delta
            else:
                found = sum(t.count(token) for t in texts)
                texts = [t.replace(token, text) for t in texts]
            if found != want:
                return None
        return texts


# Characters the text of a number can hold: int, float repr, Decimal fixed-point, NaN, inf.
_NUMBER_CHARS = frozenset("0123456789.-+einfNa")


class _ChunkWriter:
    """Turns a batch into its final text, by one of two paths.

    Join path ("minimal"/"none" quoting with ``empty_string="quoted"``, the default): a
    field holding no delimiter, quote character, CR or LF is written as is by "minimal"
    quoting, so rows of such fields are made directly by ``%`` formatting (``"%s"`` per
    cell, i.e. ``str()``; nulls as the marker, empty texts as ``""``, marker-equal texts
    quoted): the whole chunk in one ``%`` when no row needs quotes and the chunk is one text,
    else one ``%`` per row. This skips the csv module's character-by-character quoting check,
    its costliest part.
    Which columns hold such a character is known from :func:`csv_chunk`
    (``str.join`` and C scans); in those columns a regex finds the rows, and these rows
    (if at most half of the chunk) are written by the csv path and put in their place.

    csv path (the other rows and chunks, and every chunk with other quoting): cells with
    stand-ins (:class:`_StandIns`), :mod:`csv`, then what csv cannot do itself: quoting
    stray line breaks, the stand-in replacement.

    NaN: columns of floats and ``None`` are not checked cell by cell; csv and ``str()``
    write a NaN as ``nan``, so the chunk's text is searched for ``nan`` (a C scan) and, the
    first time it is found (a NaN, or only a word such as "banana"), the chunk is redone and
    every later chunk of the export checked per column.
    """

    def __init__(self, names: list[str], opts: CsvOptions, dialect: dict[str, Any], stray_breaks: str) -> None:
        self.names = names
        self.opts = opts
        self.dialect = dialect
        self.stray_breaks = stray_breaks
        self.parts: list[str] = []
        self.writer = csv.writer(_ListSink(self.parts), **dialect)
        self.quote_all = csv.writer(_ListSink(self.parts), **{**dialect, "quoting": csv.QUOTE_ALL})
        quoted = opts.empty_string == "quoted"
        self.stand_ins = _StandIns.preferred(opts, len(names)) if quoted else None
        self.marker_text = self.stand_ins.marker_text if self.stand_ins is not None else None
        # quoting="none" cannot quote a text equal to the marker: such texts are counted
        # (one C count per text column, only in this mode) and refused.
        self.bare_marker = quoted and opts.quoting == csv.QUOTE_NONE and bool(opts.null_marker)
        if self.bare_marker:
            self.marker_text = opts.null_marker
        self.check_nan = False
        self.counts = (0, 0, 0)
        # The join path's rows, for error messages: texts, or the tuple of the chunk's cells
        # row after row (formatted again by final_rows).
        self.last_lines: list[str] | tuple[Any, ...] | None = None
        self.last_terminated = False
        quotechar, marker = opts.quotechar, opts.null_marker
        minimal = opts.quoting == csv.QUOTE_MINIMAL
        self.join_path = (
            quoted and bool(names) and opts.quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE)
            and opts.delimiter not in _NUMBER_CHARS and quotechar not in _NUMBER_CHARS
        )
        self.special_chars = opts.delimiter + quotechar + "\r\n" if self.join_path else ""
        # The join path's row: "%s" per cell, the delimiter between ("%" escaped).
        self.row_format = opts.delimiter.replace("%", "%%").join(["%s"] * len(names))
        self._chunk_rows, self._chunk_fmt = -1, ""
        # Finds a character that needs quotes in a text: the rows the csv path must write.
        self.special_search = re.compile(f"[{re.escape(self.special_chars)}]").search if self.join_path else None
        # The join path's final texts: a null, an empty text, a text equal to the marker.
        self.null_text = marker
        self.empty_text = quotechar * 2 if minimal else None  # "none": "" stays an empty field
        self.marker_quoted = quotechar + marker + quotechar if minimal and marker else None

    def render(self, batch: Sequence[Sequence[Any]], first_row: int, per_row: bool) -> list[str]:
        """The final text of ``batch``: one string per row if ``per_row``, else one string.

        :raises ValueError: a field ``quoting="none"`` cannot write (naming row and column).
        :raises UnrenderableValueError: a value without a text form (naming row and column).
        """
        for _ in range(4):  # a NaN redo, then it must fit
            chunk = csv_chunk(batch, self.names, marker_text=self.marker_text, formula_guard=self.opts.formula_guard,
                              first_row=first_row, check_nan=self.check_nan, special_chars=self.special_chars)
            if self.bare_marker and chunk.marker_counts:
                self._refuse_marker_text(chunk, first_row)
            joined = self._join(chunk, first_row, per_row) if self.join_path else None
            if joined is None:
                return self._through_csv(chunk, first_row, per_row)
            texts, text = joined
            # "n" first: memchr, ~10x faster than the 3-character search when there is no "n".
            if chunk.unchecked_floats and "n" in text and "nan" in text:
                self.check_nan = True
                continue
            return texts
        raise RuntimeError(f"rows {first_row}..{first_row + len(batch) - 1}: the NaN check did not settle")

    def _refuse_marker_text(self, chunk: CsvChunk, first_row: int) -> None:
        """quoting="none": raise for the first text cell equal to the null marker."""
        marker = self.opts.null_marker
        row, i = min((list(chunk.columns[i]).index(marker), i) for i in chunk.marker_counts)
        raise ValueError(
            f"row {first_row + row}, column {self.names[i]!r}: text {marker!r} equals the null marker and "
            "cannot be told from a null with quoting='none' (it cannot be quoted); use quoting='minimal' "
            "or a null_marker that does not occur in the data"
        )

    def _join(self, chunk: CsvChunk, first_row: int, per_row: bool) -> tuple[list[str], str] | None:
        """The join path: the texts (per row, or one) and the whole text; None when the csv
        path should write the whole chunk (quoting "none", or most rows need quotes).

        Rows holding a character that needs quotes are written by the csv path (as a batch
        of their own) and put in their place.
        """
        opts = self.opts
        if chunk.special_columns and opts.quoting == csv.QUOTE_NONE:
            return None  # the csv module raises, naming the row and column
        terminator = opts.lineterminator
        cells = chunk.cells(null_cell=self.null_text, empty_cell=self.empty_text, marker_cell=self.marker_quoted)
        columns = cells.columns
        quoted: list[int] = []
        if chunk.special_columns:
            # Only these columns are searched; a mixed column's number objects as their text
            # (the same str() the row format applies).
            columns = [
                list(map(str, column)) if kind is KIND_MIXED else column
                for column, kind in zip(columns, chunk.kinds)
            ]
            # The rows with a text needing quotes; the texts put for "" and marker-equal
            # cells (these very objects) hold quote characters but are final already.
            search, own = self.special_search, (self.empty_text, self.marker_quoted)
            quoted = sorted({
                row for i in chunk.special_columns for row in compress(count(), map(search, columns[i]))
                if columns[i][row] is not own[0] and columns[i][row] is not own[1]
            })
            if 2 * len(quoted) > len(chunk.batch):
                return None
        flat = chunk.flat
        if not quoted and not per_row and flat is not None and chunk.raw_columns is not None:
            # The whole chunk in one C-level "%": str() of every cell (numbers included; the
            # stand-ins are texts already), the delimiters and line terminators, with no
            # per-row tuple or string. The changed columns are put back into the flat list
            # first (extended-slice assignment, C). ~2x faster than csv.writer.writerows on
            # the flights rows (bench/ANALYSIS.md).
            width = len(self.names)
            for i, (column, raw) in enumerate(zip(columns, chunk.raw_columns)):
                if column is not raw:
                    flat[i::width] = column
            values = tuple(flat)
            text = self._chunk_format(len(chunk.batch)) % values
            self.last_lines, self.last_terminated = values, False
            return [text], text
        # One C-level "%" per row: ~1.6x faster than map(str) per column + str.join per row.
        rows = chunk.batch
        if cells.changed or set(map(type, rows)) != _TUPLE_ONLY:
            rows = zip(*columns)  # "%" takes a tuple only
        lines = list(map(self.row_format.__mod__, rows))
        if not quoted:
            self.last_lines, self.last_terminated = lines, False
            text = terminator.join(lines) + terminator
            return ([line + terminator for line in lines] if per_row else [text]), text
        batch = chunk.batch
        sub = self.render_through_csv([batch[i] for i in quoted], first_row, per_row=True)
        lines = [line + terminator for line in lines]
        for index, line in zip(quoted, sub):
            lines[index] = line
        self.last_lines, self.last_terminated = lines, True
        text = "".join(lines)
        return (lines if per_row else [text]), text

    def _chunk_format(self, rows: int) -> str:
        """The format of ``rows`` whole rows: (row format + line terminator) * rows, cached
        for the last row count asked (the chunk size, but for the last chunk)."""
        if self._chunk_rows != rows:
            self._chunk_rows = rows
            self._chunk_fmt = (self.row_format + self.opts.lineterminator.replace("%", "%%")) * rows
        return self._chunk_fmt

    def render_through_csv(self, batch: Sequence[Sequence[Any]], first_row: int, per_row: bool) -> list[str]:
        """The csv path for ``batch`` (rows of one chunk, not necessarily consecutive)."""
        for _ in range(4):
            chunk = csv_chunk(batch, self.names, marker_text=self.marker_text, formula_guard=self.opts.formula_guard,
                              first_row=first_row, check_nan=self.check_nan)
            texts = self._through_csv(chunk, first_row, per_row)
            if texts is not None:
                return texts
        raise RuntimeError(f"rows {first_row}..{first_row + len(batch) - 1}: the NaN check did not settle")

    def _through_csv(self, chunk: CsvChunk, first_row: int, per_row: bool) -> list[str] | None:
        """The csv path: cells with stand-ins, :mod:`csv`, stray line breaks, stand-in
        replacement (redone with other stand-in characters when the data holds them)."""
        self.last_lines = None
        opts = self.opts
        for _ in range(3):  # a stand-in redo at most, then it must fit
            stand_ins = self.stand_ins
            if stand_ins is None:
                cells = chunk.cells(null_cell=opts.null_marker or None)
            else:
                cells = chunk.cells(null_cell=stand_ins.null_cell, empty_cell=stand_ins.empty_cell,
                                    marker_cell=stand_ins.marker_cell, count_nulls=stand_ins.null_is_stand_in)
            text, extra_nulls = self._write(chunk.rows(cells), first_row)
            if chunk.unchecked_floats and "n" in text and "nan" in text:
                self.check_nan = True
                return self.render_through_csv(chunk.batch, first_row, per_row)
            texts = list(self.parts) if per_row else [text]
            self.counts = counts = (cells.empties, cells.nulls + extra_nulls, cells.markers)
            if stand_ins is None or not any(counts):
                return texts
            done = stand_ins.apply(texts, counts)
            if done is not None:
                return done
            self.stand_ins = _StandIns.other(opts, len(self.names), set(text))
        raise RuntimeError(f"rows from {first_row}: stand-in replacement did not settle")

    def final_rows(self) -> list[str]:
        """The row texts of the last chunk rendered, stand-ins replaced (for error messages)."""
        if type(self.last_lines) is tuple:
            width, values, row_format = len(self.names), self.last_lines, self.row_format
            return [row_format % values[k : k + width] + self.opts.lineterminator
                    for k in range(0, len(values), width)]
        if self.last_lines is not None:
            if self.last_terminated:
                return list(self.last_lines)
            return [line + self.opts.lineterminator for line in self.last_lines]
        if self.stand_ins is None or not any(self.counts):
            return list(self.parts)
        return self.stand_ins.apply(list(self.parts), self.counts) or list(self.parts)

    def _write(self, cells: Sequence[Sequence[Any]], first_row: int) -> tuple[str, int]:
        """Write rows of cells into ``parts`` with :mod:`csv`; returns the joined text and the
        number of null stand-ins put into rows rewritten for stray line breaks."""
        parts = self.parts
        parts.clear()
        extra_nulls = 0
        try:
            self.writer.writerows(cells)
            text = "".join(parts)
            if self.stray_breaks and _holds_any(text, self.stray_breaks):
                # Rare: a CR or LF that is not part of the line terminator. Rewrite the
                # chunk, quoting every field (but nulls) of the rows holding one.
                parts.clear()
                for index, row in enumerate(cells):
                    bad = _stray_break_cell(row, self.stray_breaks)
                    if bad is None:
                        self.writer.writerow(row)
                    elif self.opts.quoting == csv.QUOTE_NONE:
                        raise ValueError(
                            f"row {first_row + index}, column {self.names[bad]!r}: a line break cannot be "
                            "written with quoting='none'; use quoting='minimal'"
                        )
                    else:
                        if self.stand_ins is not None:
                            row, placed = self.stand_ins.for_quote_all(row)
                            extra_nulls += placed
                        self.quote_all.writerow(row)
                text = "".join(parts)
        except csv.Error as exc:
            raise _describe_csv_error(cells, self.names, first_row, self.dialect, exc) from None
        return text, extra_nulls


def _describe_csv_error(batch: Sequence[Sequence[Any]], names: list[str], first_row: int,
                        dialect: dict[str, Any], error: Exception) -> ValueError:
    """Turn a csv.Error for a chunk into a ValueError naming the row and column."""
    probe = csv.writer(_ListSink([]), **dialect)
    for index, row in enumerate(batch):
        try:
            probe.writerow(row)
        except csv.Error as row_error:
            for column, cell in zip(names, row):
                try:
                    probe.writerow(["x", cell])
                except csv.Error as exc:
                    return ValueError(
                        f"row {first_row + index}, column {column!r}: value {str(cell)[:40]!r} cannot be "
                        f"written with quoting='none' ({exc}); use quoting='minimal'"
                    )
            if len(row) == 1:
                return ValueError(
                    f"row {first_row + index}, column {names[0]!r}: a record of one empty field cannot be written "
                    f"with quoting='none' and empty_string='empty' ({row_error}); use empty_string='quoted'"
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


def _render_huge_ints(chunks: "_ChunkWriter", batch: Sequence[Any], first_row: int, rolling: bool) -> Any:
    """Render a batch holding an int of more than ``sys.get_int_max_str_digits()`` digits.

    Python refuses such conversions by default (a guard against quadratic-time parsing of
    untrusted text: CVE-2020-10735, Python 3.11's ``sys.set_int_max_str_digits``); an integer from a database is data, so the
    batch is rendered again with the limit lifted, and the limit restored at once.
    """
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return chunks.render(batch, first_row, per_row=rolling)
    finally:
        sys.set_int_max_str_digits(limit)


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
        ``header=True``, ``encoding="utf-8"``, ``bom=None``, ``compression=None``,
        ``null_marker=""``, ``empty_string="quoted"``, ``formula_guard=True``, ``max_rows_per_file=None``,
        ``max_bytes_per_file=None``, ``overwrite=True``, ``progress=None``.
    :returns: :class:`ExportResult` with ``format="csv"``, ``path`` = the first file,
        ``records`` = data rows (header excluded), ``bytes`` = bytes on disk summed over
        the files (after compression), ``duration_seconds`` = wall time of this call
        (reading the rows included), ``files`` = one entry per file with its SHA-256.
        Empty input gives a header-only file (``records=0``); empty input with no
        columns gives an empty file.
    :raises TypeError: an unknown option (naming it and listing the valid ones); a value
        without a text form, :class:`~airflow_export.writers.values.UnrenderableValueError`
        (``row 17, column 'price': cannot render value of type object``), also for a
        dict/list holding one, holding itself, nested deeper than the recursion limit or
        with a key JSON cannot take (the reason in parentheses); a row that is not a
        sequence or mapping.
    :raises ValueError: a bad option value or ``chunk_size`` (naming it), or a contradiction
        between options (``bom=False`` with ``encoding="utf-16"``; ``quoting="none"`` with
        ``empty_string="quoted"`` and ``null_marker=""``); a row with the wrong number of
        fields (naming the row, expected and actual count); a field that ``quoting="none"``
        cannot write (one needing quotes, or a text equal to the null marker) or a
        character the encoding cannot encode (naming row and column).
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
    codec, bom_bytes, _ = _BOM_CODECS.get(codec_name, (codec_name, b"", False))
    bom = bom_bytes if opts.bom else b""  # opts.bom is resolved: True where the encoding demands a BOM
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
        chunks = _ChunkWriter(names, opts, dialect, stray_breaks)
        total = 0
        try:
            for batch in batches:
                first_row = total + 1
                try:
                    texts = chunks.render(batch, first_row, per_row=rolling)
                except ValueError as exc:
                    if "integer string conversion" not in str(exc):
                        raise
                    texts = _render_huge_ints(chunks, batch, first_row, rolling)
                try:
                    if rolling:
                        files.write_rows(texts)
                    else:
                        files.write_text(texts[0], len(batch))
                except UnicodeEncodeError as exc:
                    raise _describe_encode_error(chunks.final_rows(), names, first_row, codec, dialect, exc) from None
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
