"""TrueType subset fonts of a :class:`~airflow_export.writers.pdf.document.StreamingPdfDocument`.

Text is encoded with ReportLab's dynamic subsetting (:meth:`TTFont.splitString
<reportlab.pdfbase.ttfonts.TTFont.splitString>`: up to 256 glyphs per subset, keyed by the
document object) and each subset is embedded with ReportLab's subsetter
(:meth:`TTFontFile.makeSubset <reportlab.pdfbase.ttfonts.TTFontFile.makeSubset>`). The PDF
objects are those ReportLab's ``TTFont.addObjects`` makes (PDF 32000-1, 9.6.3 TrueType fonts,
9.8 font descriptors, 9.10.3 ToUnicode CMaps), written straight to the file.

The font file's bytes are needed only while subsetting: a face whose raw bytes were dropped
(:func:`drop_font_bytes`) is read through a memory map of its file at that moment
(:func:`font_bytes`), where only the pages of the glyphs used are touched. A face parsed here
also keeps its per-glyph tables packed (:func:`compact_face`).
"""

from __future__ import annotations

import mmap
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from reportlab.pdfbase.ttfonts import FF_NONSYMBOLIC, FF_SYMBOLIC, SUBSETN, TTFont, makeToUnicodeCMap

#: Slices of a mapped font file at least this long stay views (the ``glyf`` table) instead of copies.
VIEW_MIN_BYTES = 1 << 20

#: ``write_object(number, body)`` and ``reserve() -> number`` of the document's object writer.
WriteObject = Callable[[int, bytes], None]


class MappedBytes:
    """Read-only, bytes-like window on a memory-mapped file, enough for ReportLab's subsetter.

    Indexing gives an ``int``; a slice shorter than :data:`VIEW_MIN_BYTES` gives ``bytes``, a
    longer one another :class:`MappedBytes` (so the ``glyf`` table is never copied whole).

    :param data: the mapped file.
    :param start: first byte of the window.
    :param stop: end of the window (exclusive); ``None``: the end of ``data``.
    """

    __slots__ = ("_data", "_start", "_stop")

    def __init__(self, data: mmap.mmap, start: int = 0, stop: int | None = None) -> None:
        self._data = data
        self._start = start
        self._stop = len(data) if stop is None else stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, int):
            if key < 0:
                key += len(self)
            if not 0 <= key < len(self):
                raise IndexError("font data index out of range")
            return self._data[self._start + key]
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("font data slices have step 1")
        stop = max(start, stop)
        if stop - start >= VIEW_MIN_BYTES:
            return MappedBytes(self._data, self._start + start, self._start + stop)
        return self._data[self._start + start : self._start + stop]

    def __bytes__(self) -> bytes:
        return self._data[self._start : self._stop]


def drop_font_bytes(font: TTFont) -> int:
    """Forget the raw font file bytes ReportLab keeps on ``font.face`` (``_ttf_data``).

    Metrics and text encoding do not need them; subsetting in this module maps the file again
    (:func:`font_bytes`). ReportLab's own ``Canvas`` cannot embed such a font any more.

    :returns: the number of bytes released (0 if already dropped).
    """
    face = font.face
    data = vars(face).pop("_ttf_data", None)
    return 0 if data is None or isinstance(data, MappedBytes) else len(data)


def parse_font(name: str, path: str, index: int = 0) -> TTFont:
    """Parse the TrueType font at ``path`` from a memory map of the file, keeping no raw bytes.

    The same font object as ``TTFont(name, path, subfontIndex=index)`` minus the file's bytes
    (which ReportLab reads whole and keeps): the process's peak memory does not hold the file
    and the parsed tables at once. Subsetting maps the file again (:func:`font_bytes`).

    :param name: the font's ReportLab name.
    :param path: a ``.ttf`` file or ``.ttc`` collection.
    :param index: the font's index in a collection.
    :raises OSError: the file cannot be opened or mapped.
    :raises reportlab.pdfbase.ttfonts.TTFError: not a TrueType font ReportLab can embed.
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        font = TTFont(name, _MappedFile(path, mapped), subfontIndex=index)
        del font.face._ttf_data
    compact_face(font.face)
    return font


class PackedMetrics:
    """ReportLab's ``face.hmetrics`` (per glyph ``(advance width, left side bearing)``, read
    only by its subsetter, which takes ``int()`` of both) in two arrays: indexing gives the same
    ints as a pair.

    :param pairs: the face's ``hmetrics``.
    """

    __slots__ = ("_advances", "_bearings")

    def __init__(self, pairs: list[tuple[float, int]]) -> None:
        self._advances = array("L", [int(advance) for advance, _ in pairs])
        self._bearings = array("L", [int(bearing) for _, bearing in pairs])

    def __len__(self) -> int:
        return len(self._advances)

    def __getitem__(self, glyph: int) -> tuple[int, int]:
        return self._advances[glyph], self._bearings[glyph]


def compact_face(face: Any) -> None:
    """Pack the per-glyph tables of a parsed face; what is read from it stays the same.

    ``glyphToChar`` (a list of characters per glyph: ~7 MB for WenQuanYi Zen Hei's 42,000
    glyphs) is dropped: ReportLab reads it only while parsing and for HarfBuzz shaping, which
    this writer does not do (docs/adr/0009-pdf-fonts-and-fallback.md). ``hmetrics`` (~4 MB) and
    ``glyphPos`` (~1.6 MB), read by the subsetter glyph by glyph, become arrays (~0.7 MB).
    Why: docs/adr/0041-pdf-font-memory.md.
    """
    found = vars(face)
    found.pop("glyphToChar", None)
    if isinstance(found.get("hmetrics"), list):
        face.hmetrics = PackedMetrics(face.hmetrics)
    if isinstance(found.get("glyphPos"), list):
        face.glyphPos = array("L", face.glyphPos)


class _MappedFile:
    """What ReportLab's font parser reads a file object through (``name``, ``read()``): the map
    instead of the file's bytes (an ``mmap`` slices and indexes like ``bytes``)."""

    def __init__(self, name: str, mapped: mmap.mmap) -> None:
        self.name = name
        self._mapped = mapped

    def read(self) -> mmap.mmap:
        return self._mapped


@contextmanager
def font_bytes(font: TTFont) -> Iterator[None]:
    """Make ``font.face._ttf_data`` available for the ``with`` block: as it is if the face keeps
    its bytes, else as a :class:`MappedBytes` map of ``font.face.filename`` (unmapped after).

    :raises OSError: the font file cannot be opened or mapped.
    """
    face = font.face
    if "_ttf_data" in vars(face):
        yield
        return
    with open(face.filename, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        face._ttf_data = MappedBytes(mapped)
        try:
            yield
        finally:
            del face._ttf_data


def pdf_name(name: str) -> str:
    """``name`` as a PDF name object (``/...``), bytes outside ``!``..``~`` and delimiters as ``#xx``
    (PDF 32000-1, 7.3.5)."""
    out = []
    for byte in name.encode("utf-8"):
        if 33 <= byte <= 126 and chr(byte) not in "#()<>[]{}/%":
            out.append(chr(byte))
        else:
            out.append(f"#{byte:02X}")
    return "/" + "".join(out)


def pdf_number(value: float) -> str:
    """A PDF number: integers without a fraction, others with at most 3 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def stream_object(data: bytes, entries: str = "", level: int = 6) -> bytes:
    """The body of a Flate-compressed stream object holding ``data``.

    :param entries: extra dictionary entries, e.g. ``"/Length1 1234"``.
    :param level: zlib compression level (0-9).
    """
    packed = zlib.compress(data, level)
    extra = f" {entries}" if entries else ""
    return b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n%s\nendstream" % (len(packed), extra.encode(), packed)


def write_subsets(
    font: TTFont,
    key: object,
    prefix: str,
    reserve: Callable[[], int],
    write_object: WriteObject,
    level: int = 6,
) -> list[tuple[str, int]]:
    """Write every subset of ``font`` used in the document ``key`` (font dictionary, ToUnicode
    CMap, font descriptor and subset font file), then forget the document's subset state.

    :param font: the font text was encoded with (:meth:`TTFont.splitString` with ``key``).
    :param key: the document object the subset state is kept under.
    :param prefix: the resource name prefix, e.g. ``"F1"`` (subset ``n`` is ``/F1+n``).
    :param reserve: allocates an object number.
    :param write_object: writes an object's body under a number.
    :param level: zlib level of the streams.
    :returns: ``(resource name without slash, font object number)`` per subset, in order.
    :raises OSError: the font file cannot be read for subsetting.
    """
    state = font.state.get(key)
    if state is None:
        return []
    state.frozen = 1
    face = font.face
    flags = (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC
    bbox = " ".join(map(pdf_number, face.bbox))
    resources = []
    with font_bytes(font):
        for n, subset in enumerate(state.subsets):
            base = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("latin-1")
            base_name = pdf_name(base)
            font_file = face.makeSubset(subset)
            file_number = reserve()
            write_object(file_number, stream_object(font_file, f"/Length1 {len(font_file)}", level))
            del font_file
            descriptor = reserve()
            write_object(descriptor, (
                f"<< /Type /FontDescriptor /Ascent {pdf_number(face.ascent)} /CapHeight {pdf_number(face.capHeight)}"
                f" /Descent {pdf_number(face.descent)} /Flags {flags} /FontBBox [{bbox}] /FontName {base_name}"
                f" /ItalicAngle {pdf_number(face.italicAngle)} /StemV {pdf_number(face.stemV)}"
                f" /FontFile2 {file_number} 0 R /MissingWidth {pdf_number(face.defaultWidth)} >>"
            ).encode("ascii"))
            cmap = reserve()
            write_object(cmap, stream_object(makeToUnicodeCMap(base, subset).encode("latin-1"), level=level))
            widths = " ".join(pdf_number(face.getCharWidth(code)) for code in subset)
            name = f"{prefix}+{n}"
            number = reserve()
            write_object(number, (
                f"<< /Type /Font /Subtype /TrueType /Name /{name} /BaseFont {base_name} /FirstChar 0"
                f" /LastChar {len(subset) - 1} /Widths [{widths}] /ToUnicode {cmap} 0 R"
                f" /FontDescriptor {descriptor} 0 R >>"
            ).encode("ascii"))
            resources.append((name, number))
    del font.state[key]
    return resources
