"""The options of :func:`~airflow_export.writers.csv.write_csv` (reference: docs/formats.md, "CSV options")."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from typing import ClassVar

from airflow_export.writers.frame import WriterOptions

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

# Normalised codec name -> (codec to encode rows with, BOM bytes, BOM forced).
BOM_CODECS: dict[str, tuple[str, bytes, bool]] = {
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


@dataclass(frozen=True)
class CsvOptions(WriterOptions):
    """The validated options of :func:`~airflow_export.writers.csv.write_csv` (keyword-only there).

    The shared options (``null_marker``, ``max_rows_per_file``, ``overwrite``, ``progress``)
    are :class:`~airflow_export.writers.frame.WriterOptions`'; each option's meaning and
    default: docs/formats.md, "CSV options".

    :param delimiter: field separator, one character, not CR/LF/the quote character.
    :param quotechar: quote character, one character, not CR/LF.
    :param quoting: ``"minimal"`` (default), ``"all"``, ``"nonnumeric"``, ``"none"``, or
        the matching ``csv.QUOTE_*`` int. Stored as the int.
    :param lineterminator: ``"\\r\\n"`` (RFC 4180, default), ``"\\n"`` or ``"\\r"``.
    :param header: write the column names as the first record of every file.
    :param encoding: any Python text codec (``utf-16``/``utf-32``: little-endian with a BOM).
    :param bom: the byte order mark once per file: ``None`` (only where the encoding's name
        demands one), ``True`` (always; Unicode encodings only), ``False`` (never). Stored
        resolved, as True or False.
    :param compression: ``None`` (``"gzip"`` when the path ends in ``.gz``) or ``"gzip"``.
    :param empty_string: ``"quoted"`` (PostgreSQL's convention, default) or ``"empty"``
        (Python's csv rules).
    :param formula_guard: prefix string cells starting with ``= + - @``, tab or CR with ``'``.
    :param max_bytes_per_file: roll over before a file would exceed this many uncompressed
        bytes (>= 1), or None.
    :raises ValueError: a bad value or a contradiction between options, naming them. A
        ``null_marker`` holding the delimiter, the quote character, CR or LF (with
        ``empty_string="quoted"``); ``quoting="none"`` with ``empty_string="quoted"`` and an
        empty ``null_marker``; ``bom=False`` with an encoding that demands one.
    :raises TypeError: ``progress`` is not callable.
    """

    writer: ClassVar[str] = "write_csv"

    delimiter: str = ","
    quotechar: str = '"'
    quoting: int | str = "minimal"
    lineterminator: str = "\r\n"
    header: bool = True
    encoding: str = "utf-8"
    bom: bool | None = None
    compression: str | None = None
    empty_string: str = "quoted"
    formula_guard: bool = True
    max_bytes_per_file: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_dialect()
        self.check_bool("header", "formula_guard")
        self._check_encoding()
        self.check_choice("compression", COMPRESSIONS)
        self.check_choice("empty_string", EMPTY_STRING_MODES)
        self._check_null_marker()
        self.check_positive_int("max_bytes_per_file", allow_none=True)

    def _check_dialect(self) -> None:
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
        self.check_choice("lineterminator", LINE_TERMINATORS)

    def _check_encoding(self) -> None:
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
        if self.bom and info.name not in BOM_CODECS:
            raise ValueError(
                f"bom=True needs a Unicode encoding (utf-8, utf-16, utf-32), got encoding {self.encoding!r}"
            )
        codec_bom = BOM_CODECS.get(info.name)
        forced = codec_bom is not None and codec_bom[2]
        if self.bom is False and forced:
            raise ValueError(
                f"bom=False contradicts encoding {self.encoding!r}, which starts every file with a byte order "
                f"mark; for no BOM name the byte order, e.g. encoding={_NO_BOM_CODEC[info.name]!r}"
            )
        object.__setattr__(self, "bom", bool(self.bom) or forced)

    def _check_null_marker(self) -> None:
        if self.empty_string != "quoted":
            return
        if self.quoting == csv.QUOTE_NONE and not self.null_marker:
            raise ValueError(
                "quoting='none' with empty_string='quoted' needs a null_marker: unquoted, an empty string "
                "and a null (null_marker='') would both be an empty field; pass null_marker (e.g. "
                "null_marker='\\N') to keep them apart, or empty_string='empty' to write both as an empty field"
            )
        for char, name in ((self.delimiter, "the delimiter"), (self.quotechar, "the quote character"),
                           ("\r", "CR"), ("\n", "LF")):
            if char in self.null_marker:
                raise ValueError(
                    f"null_marker {self.null_marker!r} holds {name} ({char!r}); a null is written "
                    "unquoted, so it cannot (or use empty_string='empty')"
                )

    def codec_and_bom(self) -> tuple[str, bytes]:
        """The codec rows are encoded with and the BOM bytes each file starts with (b"" for none)."""
        name = codecs.lookup(self.encoding).name
        codec, bom, _ = BOM_CODECS.get(name, (name, b"", False))
        return codec, bom if self.bom else b""
