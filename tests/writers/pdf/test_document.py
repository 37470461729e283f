"""The streaming PDF document: validity, text round trip, determinism and constant memory."""

from __future__ import annotations

import gc
import mmap
import shutil
import subprocess
import sys
import tracemalloc
from array import array
from pathlib import Path

import pypdf
import pytest
from reportlab.pdfbase.ttfonts import TTFont

from airflow_export.writers.pdf import fonts as pdf_fonts
from airflow_export.writers.pdf.document import StreamingPdfDocument, _ObjectFile, pdf_text_string
from airflow_export.writers.pdf.document_fonts import (
    VIEW_MIN_BYTES,
    MappedBytes,
    PackedMetrics,
    compact_face,
    drop_font_bytes,
    font_bytes,
    parse_font,
    pdf_name,
    pdf_number,
)
from tests.writers.pdf.reading import render_page

#: one line per script; "ﬁ" (U+FB01) is not in WenQuanYi Zen Hei: drawn with the fallback font.
LINES = (
    "Zürich (Grüße) \\ 100 %",
    "Съешь же ещё этих мягких булок",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
    "東京都 北京市 上海 漢字テスト",
    "ﬁnal oﬀer",
)
PAGE = (842.0, 595.0)


@pytest.fixture(scope="module")
def fonts() -> pdf_fonts.FontSet:
    font = pdf_fonts.load_font(pdf_fonts.find_font_path())
    font_set = pdf_fonts.FontSet(font, pdf_fonts.find_fallback_font_path())
    for line in LINES:
        font_set.check(line, "test")
    return font_set


def page_lines(number: int, rows: int = 5) -> list[str]:
    """The text lines of page ``number``: a title, then ``rows`` rows cycling through :data:`LINES`."""
    return [f"Report page {number}"] + [f"{LINES[i % len(LINES)]} #{number}.{i}" for i in range(rows)]


def write(path: Path, fonts: pdf_fonts.FontSet, pages: int, rows: int = 5) -> None:
    """A document of ``pages`` pages of :func:`page_lines`, each with a ``Page N of M`` footer."""
    with open(path, "wb") as fh:
        doc = StreamingPdfDocument(fh, PAGE, fonts, title=f"Test {pages} — 東京", footer=None)
        doc.footer = lambda n, m: f"BT {doc.font0} 8 Tf 1 0 0 1 760 20 Tm {doc.show(f'Page {n} of {m}', '8')} ET"
        for number in range(1, pages + 1):
            ops = [f"BT {doc.font0} 10 Tf"]
            for k, line in enumerate(page_lines(number, rows)):
                ops.append(f"1 0 0 1 40 {560 - 12 * k:.2f} Tm {doc.show(line, '10')}")
            ops.append("ET 0.5 w 40 30 m 800 30 l S")
            assert doc.add_page("\n".join(ops)) == number
        doc.close()


def qpdf_check(path: Path) -> None:
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def extracted(reader: pypdf.PdfReader, index: int) -> list[str]:
    return reader.pages[index].extract_text().splitlines()


@pytest.mark.parametrize("pages", [1, 300])
def test_valid_and_text_round_trips(tmp_path: Path, fonts: pdf_fonts.FontSet, pages: int) -> None:
    path = tmp_path / "doc.pdf"
    write(path, fonts, pages)
    qpdf_check(path)
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == pages
    assert reader.metadata.title == f"Test {pages} — 東京"
    for number in sorted({1, min(3, pages), pages}):
        assert extracted(reader, number - 1) == [*page_lines(number), f"Page {number} of {pages}"]
    assert reader.pages[0].mediabox == [0, 0, 842, 595]
    fonts_used = reader.pages[0]["/Resources"]["/Font"]
    assert "/F1+0" in fonts_used and "/F2+0" in fonts_used  # "ﬁ" drew with the fallback font


def test_page_three_of_three_hundred(tmp_path: Path, fonts: pdf_fonts.FontSet) -> None:
    path = tmp_path / "doc.pdf"
    write(path, fonts, 300)
    assert extracted(pypdf.PdfReader(path), 2)[-1] == "Page 3 of 300"


def test_identical_bytes_on_two_runs(tmp_path: Path, fonts: pdf_fonts.FontSet) -> None:
    write(tmp_path / "a.pdf", fonts, 40)
    write(tmp_path / "b.pdf", fonts, 40)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_empty_document_has_one_blank_page(tmp_path: Path, fonts: pdf_fonts.FontSet) -> None:
    path = tmp_path / "empty.pdf"
    with open(path, "wb") as fh:
        doc = StreamingPdfDocument(fh, PAGE, fonts)
        doc.close()
        doc.close()  # a second close does nothing
        with pytest.raises(ValueError, match="closed"):
            doc.add_page("")
        with pytest.raises(ValueError, match="closed"):
            doc.show("x", "9")
    qpdf_check(path)
    assert len(pypdf.PdfReader(path).pages) == 1


def test_first_and_last_page_render(tmp_path: Path, fonts: pdf_fonts.FontSet, artifacts: Path) -> None:
    """Pages 1 and 300 as PNG in ``test-artifacts/`` (``pdf-document-1.png``, ``pdf-document-300.png``)."""
    path = tmp_path / "doc.pdf"
    write(path, fonts, 300, rows=40)
    for page in (1, 300):
        png = render_page(path, page, tmp_path)
        assert png.stat().st_size > 5_000  # text drawn, not a blank page
        shutil.copyfile(png, artifacts / f"pdf-document-{page}.png")


def peak_bytes(path: Path, fonts: pdf_fonts.FontSet, pages: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        write(path, fonts, pages, rows=20)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_pages(tmp_path: Path, fonts: pdf_fonts.FontSet) -> None:
    """2,000 pages (~1.6 MB of compressed page streams) peak within 256 KB of 200 pages: only the
    offsets (8 bytes per object) and two object numbers per page are kept."""
    peak_bytes(tmp_path / "warm.pdf", fonts, 5)
    small = peak_bytes(tmp_path / "small.pdf", fonts, 200)
    large = peak_bytes(tmp_path / "large.pdf", fonts, 2_000)
    assert (tmp_path / "large.pdf").stat().st_size > 1_500_000  # what holding the pages would cost
    assert large - small < 256 * 1024, (small, large)


def test_object_file_refuses_a_second_write_and_an_unwritten_object(tmp_path: Path) -> None:
    with open(tmp_path / "x", "wb") as fh:
        out = _ObjectFile(fh)
        first, second = out.reserve(), out.reserve()
        out.write_object(first, b"null")
        with pytest.raises(ValueError, match="written twice"):
            out.write_object(first, b"null")
        with pytest.raises(ValueError, match=rf"not written: \[{second}\]"):
            out.write_xref_and_trailer(first, first)


def fresh_font(path: str) -> TTFont:
    """A font object of its own (not the process-wide cached one, whose bytes other tests need)."""
    return TTFont(f"Fresh-{Path(path).stem}", path)


@pytest.mark.parametrize("path", [pdf_fonts.find_font_path(), pdf_fonts.find_fallback_font_path()])
def test_subsets_from_mapped_file_equal_subsets_from_bytes(path: str) -> None:
    font = fresh_font(path)
    key = StreamingPdfDocument.__new__(StreamingPdfDocument)
    font.splitString("AéÅǺ ñ Ж Ω 東京都北京 ﬁ " + "".join(map(chr, range(0x4E00, 0x4E00 + 600))), key)
    subsets = font.state[key].subsets
    expected = [font.face.makeSubset(subset) for subset in subsets]
    assert drop_font_bytes(font) == Path(path).stat().st_size
    assert drop_font_bytes(font) == 0
    with font_bytes(font):
        assert [font.face.makeSubset(subset) for subset in subsets] == expected
    assert "_ttf_data" not in vars(font.face)


def test_parsed_face_keeps_its_glyph_tables_packed() -> None:
    """ADR 0041: of WenQuanYi Zen Hei's ~16 MB of parsed tables, ``glyphToChar`` (~7 MB, read only
    while parsing and for HarfBuzz shaping) is dropped and ``hmetrics``/``glyphPos`` (~5.7 MB of
    tuples and ints) are arrays: a whole write_pdf process peaks ~7 MB lower."""
    face = parse_font("Packed", pdf_fonts.find_font_path()).face
    assert "glyphToChar" not in vars(face)
    assert isinstance(face.hmetrics, PackedMetrics) and isinstance(face.glyphPos, array)
    tables = sys.getsizeof(face.glyphPos) + sys.getsizeof(face.hmetrics._advances) + sys.getsizeof(
        face.hmetrics._bearings
    )
    assert len(face.glyphPos) > 40_000 and tables < 1_200_000, tables
    compact_face(face)  # again: nothing changes
    assert isinstance(face.hmetrics, PackedMetrics)


@pytest.mark.parametrize("path", [pdf_fonts.find_font_path(), pdf_fonts.find_fallback_font_path()])
def test_subsets_of_a_compacted_face_are_reportlabs(path: str) -> None:
    """Latin, Cyrillic, Greek, CJK and composite glyphs: the same subset font files."""
    text = "".join(LINES) + "AéÅǺ ñ Ж Ω 東京都北京 ﬁ " + "".join(map(chr, range(0x4E00, 0x4E00 + 600)))
    subsets = []
    for font in (fresh_font(path), fresh_font(path)):
        key = StreamingPdfDocument.__new__(StreamingPdfDocument)
        font.splitString(text, key)
        subsets.append((font, font.state[key].subsets))
    (plain, plain_subsets), (packed, packed_subsets) = subsets
    compact_face(packed.face)
    assert packed_subsets == plain_subsets and sum(map(len, plain_subsets)) > 100
    assert [packed.face.makeSubset(s) for s in packed_subsets] == [plain.face.makeSubset(s) for s in plain_subsets]


def test_document_from_dropped_font_bytes_is_identical(tmp_path: Path) -> None:
    outputs = []
    for drop in (False, True):
        font = fresh_font(pdf_fonts.find_font_path())
        if drop:
            drop_font_bytes(font)
        fonts = pdf_fonts.FontSet(font, None)
        path = tmp_path / f"{drop}.pdf"
        write(path, fonts, 4)
        qpdf_check(path)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]


def test_mapped_bytes_behave_like_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * (2 * VIEW_MIN_BYTES // 256)
    (tmp_path / "f").write_bytes(data)
    with open(tmp_path / "f", "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = MappedBytes(mapped)
        assert len(view) == len(data)
        assert (view[0], view[255], view[-1]) == (0, 255, 255)
        assert view[10:20] == data[10:20]
        big = view[5 : 5 + VIEW_MIN_BYTES]
        assert isinstance(big, MappedBytes) and len(big) == VIEW_MIN_BYTES
        assert big[3:7] == data[8:12] and big[-1] == data[4 + VIEW_MIN_BYTES]
        assert bytes(big[:100]) == data[5:105]
        assert view[20:10] == b""
        with pytest.raises(IndexError):
            view[len(data)]
        with pytest.raises(ValueError, match="step"):
            view[::2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flights", b"(flights)"),
        ("a (b) \\c", b"(a \\(b\\) \\\\c)"),
        ("Zürich", b"<FEFF005A00FC0072006900630068>"),
        ("東", b"<FEFF6771>"),
        ("", b"()"),
    ],
)
def test_pdf_text_string(text: str, expected: bytes) -> None:
    assert pdf_text_string(text) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("AAAAAA+WenQuanYiZenHei", "/AAAAAA+WenQuanYiZenHei"), ("a b/c#", "/a#20b#2Fc#23"), ("é", "/#C3#A9")],
)
def test_pdf_name(name: str, expected: str) -> None:
    assert pdf_name(name) == expected


@pytest.mark.parametrize(("value", "expected"), [(0, "0"), (12.0, "12"), (-3, "-3"), (0.5, "0.5"), (1.23456, "1.235")])
def test_pdf_number(value: float, expected: str) -> None:
    assert pdf_number(value) == expected


@pytest.mark.parametrize("path", [pdf_fonts.find_font_path(), pdf_fonts.find_fallback_font_path()])
def test_parse_font_equals_reportlab_parse_without_bytes(path: str) -> None:
    mapped = parse_font("Mapped", path)
    parsed = fresh_font(path)
    assert "_ttf_data" not in vars(mapped.face)
    assert mapped.face.filename == path
    skip = {"_ttf_data", "_pdfScale", "glyphToChar", "hmetrics", "glyphPos"}  # the last three: compact_face
    assert {k: v for k, v in vars(mapped.face).items() if k not in skip} == {
        k: v for k, v in vars(parsed.face).items() if k not in skip
    }
    assert list(mapped.face.glyphPos) == parsed.face.glyphPos
    assert len(mapped.face.hmetrics) == len(parsed.face.hmetrics)
    assert [mapped.face.hmetrics[g] for g in range(len(mapped.face.hmetrics))] == [
        (int(advance), int(bearing)) for advance, bearing in parsed.face.hmetrics  # what the subsetter reads
    ]
    assert mapped.face._pdfScale(1000) == parsed.face._pdfScale(1000)
    assert mapped.fontName == "Mapped"
    assert (mapped._asciiReadable, mapped.shapable) == (parsed._asciiReadable, parsed.shapable)


def test_document_from_parse_font_is_identical(tmp_path: Path) -> None:
    path = pdf_fonts.find_font_path()
    for name, font in (("parsed", fresh_font(path)), ("mapped", parse_font("Mapped", path))):
        write(tmp_path / f"{name}.pdf", pdf_fonts.FontSet(font, None), 3)
    qpdf_check(tmp_path / "mapped.pdf")
    assert (tmp_path / "mapped.pdf").read_bytes() == (tmp_path / "parsed.pdf").read_bytes()
