"""A PDF document written to its file page by page, in memory independent of its length.

Each page's content stream is compressed and written as soon as it is added, together with its
page object; only the objects' file offsets (8 bytes each) and two object numbers per page stay
in memory. What needs the whole document is written by :meth:`StreamingPdfDocument.close`: the
per-page footer streams (``Page N of M``, drawn once ``M`` is known), the font subsets of the
glyphs used, the resources, page tree, catalog, info, cross-reference table and trailer
(PDF 32000-1: 7.5 file structure, 7.7 document structure).

Deterministic: no dates, and the trailer's ``/ID`` is the MD5 of the bytes before it, so the
same calls give byte-identical files.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase.ttfonts import TTFont

from airflow_export.writers.pdf.document_fonts import stream_object, write_subsets
from airflow_export.writers.pdf.fonts import FontSet

#: zlib level of page streams (1: fastest; the streams are repetitive text operators).
PAGE_COMPRESSION_LEVEL = 1
#: zlib level of font files and CMaps (written once, at the end).
FONT_COMPRESSION_LEVEL = 6
#: ``footer(number, total) -> operators`` drawing the footer of page ``number`` of ``total``.
Footer = Callable[[int, int], str]

_HEADER = b"%PDF-1.4\n%\x93\x8c\x8b\x9e\n"
_CATALOG, _PAGES, _INFO, _RESOURCES = 1, 2, 3, 4
_KIDS_CHUNK = 1000


class _ObjectFile:
    """Numbered objects written to a binary file, after the PDF header, with their offsets for
    the xref table.

    :param fh: a binary file open for writing, positioned at its start.
    """

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.position = 0
        self.digest = hashlib.md5(usedforsecurity=False)
        #: file offset of each object by number (0: reserved, not yet written); entry 0 is the free head.
        self.offsets = array("Q", [0])
        self.write(_HEADER)  # so no object is at offset 0, which marks "not yet written"

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.position += len(data)
        self.digest.update(data)

    def reserve(self) -> int:
        """A new object number (its object is written later)."""
        self.offsets.append(0)
        return len(self.offsets) - 1

    def write_object(self, number: int, body: bytes | Iterable[bytes]) -> None:
        """Write object ``number``: ``body`` is its value (e.g. a dictionary or a stream), or the
        pieces of it in order."""
        if self.offsets[number]:
            raise ValueError(f"PDF object {number} written twice")
        self.offsets[number] = self.position
        if isinstance(body, bytes):
            self.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
            return
        self.write(b"%d 0 obj\n" % number)
        for piece in body:
            self.write(piece)
        self.write(b"\nendobj\n")

    def write_xref_and_trailer(self, root: int, info: int) -> None:
        """Write the cross-reference table and trailer (every reserved object must be written)."""
        unwritten = [n for n in range(1, len(self.offsets)) if not self.offsets[n]]
        if unwritten:
            raise ValueError(f"PDF objects reserved but not written: {unwritten[:10]}")
        start = self.position
        count = len(self.offsets)
        file_id = self.digest.hexdigest()
        self.write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
        for first in range(1, count, _KIDS_CHUNK):
            self.write(b"".join(b"%010d 00000 n \n" % offset for offset in self.offsets[first : first + _KIDS_CHUNK]))
        self.write(
            (
                f"trailer\n<< /Size {count} /Root {root} 0 R /Info {info} 0 R /ID [<{file_id}> <{file_id}>] >>\n"
                f"startxref\n{start}\n%%EOF\n"
            ).encode("ascii")
        )


def pdf_text_string(text: str) -> bytes:
    """``text`` as a PDF text string (PDF 32000-1, 7.9.2.2): a literal string if printable ASCII,
    else UTF-16BE with a byte order mark, in hex."""
    if text.isascii() and text.isprintable():
        return b"(" + escapePDF(text.encode("ascii")).encode("ascii") + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class StreamingPdfDocument:
    """A PDF file whose pages go to disk as they are added.

    Usage::

        doc = StreamingPdfDocument(fh, (842, 595), fonts, title="flights", footer=footer)
        doc.add_page(f"BT {doc.font0} 9 Tf 1 0 0 1 40 550 Tm {doc.show('Zürich 東京', '9')} ET")
        doc.close()  # footers, fonts, page tree, xref; ``fh`` is left open

    Page content is PDF operators (latin-1 text or bytes) using the resource names of
    :attr:`font0` and :meth:`show`; every page shares one resource dictionary (the font
    subsets) and the page size. Not thread-safe.

    :param fh: binary file open for writing, at its start (not closed by the document).
    :param page_size: ``(width, height)`` in points.
    :param fonts: the export's fonts: text is drawn with ``fonts.font``, and the characters the
        fallback font covers (:meth:`FontSet.runs`) with ``fonts.fallback``. The caller calls
        :meth:`FontSet.check` on each text first, as for ReportLab (it loads the fallback font).
    :param title: the document title (info dictionary).
    :param creator: the info dictionary's ``/Creator`` and ``/Producer``.
    :param footer: ``footer(number, total)`` gives the operators of page ``number``'s footer,
        called by :meth:`close` for every page (it may use :meth:`show`); ``None``: no footer.
    :param compression_level: zlib level of the page streams.
    """

    def __init__(
        self,
        fh: BinaryIO,
        page_size: tuple[float, float],
        fonts: FontSet,
        *,
        title: str = "",
        creator: str = "airflow-export",
        footer: Footer | None = None,
        compression_level: int = PAGE_COMPRESSION_LEVEL,
    ) -> None:
        self.page_size = page_size
        self.fonts = fonts
        self.title = title
        self.creator = creator
        self.footer = footer
        self.compression_level = compression_level
        self._file = _ObjectFile(fh)
        for expected in (_CATALOG, _PAGES, _INFO, _RESOURCES):
            if self._file.reserve() != expected:  # pragma: no cover - fixed numbering
                raise AssertionError("object numbering")
        #: the resource name prefix of each font used, in order of first use (main font first).
        self._prefixes: dict[str, tuple[str, TTFont]] = {}
        self._page_objects = array("I")
        self._footer_objects = array("I")
        self.closed = False
        self.font0 = self._subset_name(fonts.font, 0)
        fonts.font.splitString("", self)  # the main font's subset 0 exists even in a document without text
        glyphs = fonts.font.face.charToGlyph
        readable = fonts.font._asciiReadable  # subset 0 holds ASCII at its own codes (ReportLab's default)
        #: the ASCII characters :meth:`show` writes as they are (subset 0 of the main font).
        self._ascii = frozenset(chr(c) for c in range(32, 127) if readable and c in glyphs)

    @property
    def page_count(self) -> int:
        """Pages added so far."""
        return len(self._page_objects)

    # ------------------------------------------------------------------ text

    def _subset_name(self, font: TTFont, subset: int) -> str:
        prefix = self._prefixes.get(font.fontName)
        if prefix is None:
            prefix = self._prefixes[font.fontName] = (f"F{len(self._prefixes) + 1}", font)
        return f"/{prefix[0]}+{subset}"

    def show(self, text: str, size: str) -> str:
        """Operators showing ``text`` at the current text position in a ``BT``/``ET`` block whose
        current font is :attr:`font0` at ``size``; that font is current again after them.

        ASCII text is one ``Tj`` (subset 0 maps ASCII to itself); other text switches subsets
        (``Tf``) as ReportLab's ``splitString`` assigns glyphs, and runs of characters only the
        fallback font has are shown with its subsets.

        :param text: the text (no line breaks; characters in neither font show as the main
            font's missing glyph).
        :param size: the font size in points as written in the operators, e.g. ``"9"`` or ``"8.50"``.
        :raises ValueError: the document is closed.
        """
        if self.closed:
            raise ValueError("PDF document is closed")
        fonts = self.fonts
        main = fonts.font
        if text.isascii() and self._ascii.issuperset(text):
            return f"({escapePDF(text.encode('ascii'))}) Tj"
        runs = fonts.runs(text) if fonts.fallback_chars else None
        if runs is None:
            runs = [(False, text)]
        parts = []
        current = (False, 0)
        for uses_fallback, chunk in runs:
            font = fonts.fallback if uses_fallback and fonts.fallback is not None else main
            for subset, encoded in font.splitString(chunk, self):
                if (uses_fallback, subset) != current:
                    parts.append(f"{self._subset_name(font, subset)} {size} Tf")
                    current = (uses_fallback, subset)
                parts.append(f"({escapePDF(encoded)}) Tj")
        if current != (False, 0):
            parts.append(f"{self.font0} {size} Tf")
        return " ".join(parts)

    # ------------------------------------------------------------------ pages

    def add_page(self, content: str | bytes) -> int:
        """Compress ``content`` and write it and its page object to the file now.

        :param content: the page's operators (``str``: latin-1 encodable, as ReportLab's
            operators and :meth:`show`'s output are).
        :returns: the page's number (1-based).
        :raises ValueError: the document is closed.
        """
        if self.closed:
            raise ValueError("PDF document is closed")
        data = content.encode("latin-1") if isinstance(content, str) else content
        out = self._file
        body = out.reserve()
        out.write_object(body, stream_object(data, level=self.compression_level))
        page = out.reserve()
        if self.footer is None:
            contents = b"%d 0 R" % body
        else:
            footer = out.reserve()
            self._footer_objects.append(footer)
            contents = b"[%d 0 R %d 0 R]" % (body, footer)
        out.write_object(page, b"<< /Type /Page /Parent %d 0 R /Contents %s >>" % (_PAGES, contents))
        self._page_objects.append(page)
        return len(self._page_objects)

    def close(self) -> None:
        """Write the footers, fonts, resources, page tree, catalog, info, xref and trailer.

        The file is not closed (nor flushed to disk): that is the caller's. A document without
        pages gets one empty page (a PDF needs one). Calling it again does nothing.

        :raises OSError: the font file cannot be read for subsetting, or writing fails.
        """
        if self.closed:
            return
        if not self._page_objects:
            self.add_page(b"")
        out = self._file
        total = len(self._page_objects)
        if self.footer is not None:
            for number, footer in enumerate(self._footer_objects, start=1):
                ops = self.footer(number, total).encode("latin-1")
                out.write_object(footer, stream_object(ops, level=self.compression_level))
        self.closed = True
        fonts = []
        for prefix, font in self._prefixes.values():
            fonts.extend(write_subsets(font, self, prefix, out.reserve, out.write_object, FONT_COMPRESSION_LEVEL))
        font_dict = " ".join(f"/{name} {number} 0 R" for name, number in fonts)
        out.write_object(_RESOURCES, f"<< /Font << {font_dict} >> /ProcSet [/PDF /Text] >>".encode("ascii"))
        width, height = self.page_size
        out.write_object(_PAGES, self._page_tree(f"[0 0 {_num(width)} {_num(height)}]"))
        out.write_object(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES)
        creator = pdf_text_string(self.creator)
        out.write_object(
            _INFO, b"<< /Title %s /Creator %s /Producer %s >>" % (pdf_text_string(self.title), creator, creator)
        )
        out.write_xref_and_trailer(_CATALOG, _INFO)
        self._page_objects = self._footer_objects = array("I")

    def _page_tree(self, media_box: str) -> Iterator[bytes]:
        """The root ``/Pages`` node in pieces: every page a kid; media box and resources inherited."""
        pages = self._page_objects
        yield b"<< /Type /Pages /Count %d /MediaBox %s /Resources %d 0 R /Kids [" % (
            len(pages), media_box.encode("ascii"), _RESOURCES
        )
        for first in range(0, len(pages), _KIDS_CHUNK):
            yield b" ".join(b"%d 0 R" % n for n in pages[first : first + _KIDS_CHUNK]) + b"\n"
        yield b"] >>"


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")

