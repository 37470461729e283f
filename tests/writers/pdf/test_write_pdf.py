"""Tests of the streaming PDF writer: the PDFs are read back with pypdf.

Two ways of reading a page back:

* :func:`shows`: every text-showing operator of the page content with its position
  (``1 0 0 1 x y Tm (text) Tj`` as written by the writer); exact for ASCII text (subset 0
  of the embedded font maps ASCII to itself), used for geometry and row checks.
* ``page.extract_text()``: pypdf's extraction through the font's ToUnicode map, used for
  non-ASCII round trips.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pypdf
import pytest

from airflow_export.writers.frame import part_path
from airflow_export.writers.pdf import fonts as pdf_fonts
from airflow_export.writers.pdf import write_pdf
from airflow_export.writers.pdf.fonts import (
    DEFAULT_FALLBACK_FONT_PATHS,
    FontMetrics,
    FontNotFoundError,
    find_fallback_font_path,
    find_font_path,
)
from tests.writers.pdf.reading import footer, read, shows, sized_shows, table_rows

A4_LANDSCAPE = (841.8897637795277, 595.2755905511812)
MARGIN = 24.0


# ---------------------------------------------------------------- helpers




ROWS_120 = [(i, f"name {i}", f"{i * 1.5}") for i in range(1, 121)]


# ---------------------------------------------------------------- pure layout functions


def test_control_characters_print_visibly(tmp_path):
    # WenQuanYi Zen Hei has no U+FFFD: control characters print as U+25A1 WHITE SQUARE
    write_pdf([("a\x00b\tc\r\nd",)], tmp_path / "c.pdf", columns=["v"])
    assert read(tmp_path / "c.pdf").pages[0].extract_text().split("\n")[1:3] == ["a\u25a1b c", "d"]


# At 10 pt a digit of WenQuanYi Zen Hei is 599.609375/1000 * 10 = 5.99609375 pt, a space 2.998046875 pt.
# ---------------------------------------------------------------- the PDF


def test_every_row_and_the_header_on_every_page(tmp_path):
    result = write_pdf(ROWS_120, tmp_path / "t.pdf", columns=["id", "name", "ratio"], rows_per_page=50)
    assert (result.format, result.records, result.path) == ("pdf", 120, str(tmp_path / "t.pdf"))
    assert len(result.files) == 1 and result.files[0].records == 120
    assert result.bytes == os.path.getsize(tmp_path / "t.pdf") == result.files[0].bytes
    pages = read(tmp_path / "t.pdf").pages
    assert len(pages) == 3
    seen = []
    for page, count in zip(pages, (50, 50, 20), strict=False):
        lines = table_rows(page)
        assert lines[0] == ("id", "name", "ratio")
        assert len(lines) == count + 1
        seen.extend(lines[1:])
    assert seen == [(str(i), f"name {i}", f"{i * 1.5}") for i in range(1, 121)]


def test_title_and_page_numbers(tmp_path):
    write_pdf(ROWS_120, tmp_path / "t.pdf", columns=["id", "name", "ratio"], title="Flights & <more>")
    reader = read(tmp_path / "t.pdf")
    assert reader.metadata.title == "Flights & <more>"
    for number, page in enumerate(reader.pages, start=1):
        texts = shows(page)
        assert texts[-3][0] == "Flights & <more>"  # the title line (top of the page)
        assert texts[-3][2] == max(y for _, _, y in texts)
        assert footer(page) == f"Page {number} of 3"
        assert f"Page {number} of 3" in page.extract_text()


def test_default_title_is_the_file_name(tmp_path):
    write_pdf([(1,)], tmp_path / "daily_report.pdf")
    reader = read(tmp_path / "daily_report.pdf")
    assert reader.metadata.title == "daily_report"
    assert shows(reader.pages[0])[-3][0] == "daily_report"


def test_long_text_wraps_inside_its_column(tmp_path, font):
    long_word = "W" * 120  # no space: must be broken between characters
    sentence = " ".join(f"word{i}" for i in range(60))
    widths = [60.0, 150.0, 200.0, 120.0]
    rows = [(1, long_word, sentence, "short"), (22, "x", "y", "z")]
    write_pdf(rows, tmp_path / "w.pdf", columns=["n", "a", "b", "c"], column_widths=widths, font_size=8)
    page = read(tmp_path / "w.pdf").pages[0]
    metrics = FontMetrics(font, 8)
    hpad = 0.4 * 8
    lefts = [MARGIN + sum(widths[:j]) for j in range(len(widths))]
    by_column: dict[int, list[tuple[str, float, float]]] = defaultdict(list)
    for text, x, y in shows(page)[:-3]:  # not title and footer
        column = max(j for j, left in enumerate(lefts) if x >= left)
        left, right = lefts[column], lefts[column] + widths[column]
        assert x >= left + hpad - 0.01, text
        assert x + metrics.width(text) <= right - hpad + 0.01, text  # never into the next column
        by_column[column].append((text, x, y))
    word_lines = [t for t, _, y in by_column[1] if t.startswith("W")]
    assert len(word_lines) > 1 and "".join(word_lines) == long_word
    sentence_lines = [t for t, _, _ in by_column[2] if t.startswith("word")]
    assert len(sentence_lines) > 1 and " ".join(sentence_lines) == sentence
    # the numeric column is right-aligned: text ends at the padding
    for text, x, _ in by_column[0]:
        if text in ("1", "22"):
            assert x + metrics.width(text) == pytest.approx(lefts[0] + widths[0] - hpad, abs=0.01)
    # the second row starts below the tallest cell of the first
    first_row_bottom = min(y for t, _, y in by_column[1] + by_column[2] if t != "x" and t != "y")
    assert [y for t, _, y in by_column[1] if t == "x"][0] < first_row_bottom


def test_special_characters_print_literally(tmp_path):
    cells = ["S&P 500", "0.1 <A <0.9", "a (b) \\c", "<b>bold</b> &amp;"]
    write_pdf([tuple(cells)], tmp_path / "e.pdf", columns=["a", "b", "c", "d"])
    page = read(tmp_path / "e.pdf").pages[0]
    assert table_rows(page) == [("a", "b", "c", "d"), tuple(cells)]
    assert "S&P 500 0.1 <A <0.9 a (b) \\c <b>bold</b> &amp;" in page.extract_text()


def test_a_cell_taller_than_a_page_is_cut_with_a_visible_marker(tmp_path, caplog):
    tall = "\n".join(f"line {i}" for i in range(1, 501))
    rows = [(1, "before"), (2, tall), (3, "after")]
    with caplog.at_level(logging.WARNING, logger="airflow_export"):
        result = write_pdf(rows, tmp_path / "tall.pdf", columns=["id", "text"], font_size=8, landscape=True)
    assert result.records == 3
    # ... and the task log says so, once per export
    cut = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert cut == [f"PDF {tmp_path / 'tall.pdf'}: 1 cell(s) truncated to fit (marker '… [+N lines truncated]'); "
                   "the first at row 2, column 'text'"]
    pages = read(tmp_path / "tall.pdf").pages
    # Lines per cell on landscape A4 (595.28 pt high) at 8 pt: table top 595.28 - 24 (margin)
    # - 1.5 * 12 (title) = 553.28; header row 1.2 * 8 + 2 * 2 = 13.6; table bottom 24 + 2 * 8 = 40;
    # row padding 2 * 2 -> (553.28 - 13.6 - 40 - 4) / 9.6 = 51.6 -> 51 lines: 50 + the marker.
    expected = [f"line {i}" for i in range(1, 51)] + ["\u2026 [+450 lines truncated]"]
    assert len(pages) == 3  # row 1 / the tall row alone / row 3
    assert table_rows(pages[0]) == [("id", "text"), ("1", "before")]
    tall_page = table_rows(pages[1])
    assert tall_page[0] == ("id", "text")
    assert tall_page[1] == ("2", "line 1")
    assert [line[-1] for line in tall_page[1:-1]] == expected[:-1]
    # the marker's "…" is not ASCII: read it through the font's ToUnicode map
    extracted = pages[1].extract_text().split("\n")
    assert extracted[1:52] == ["2 line 1"] + expected[1:]
    assert table_rows(pages[2]) == [("id", "text"), ("3", "after")]


def test_max_lines_per_cell(tmp_path):
    tall = "\n".join(f"line {i}" for i in range(1, 11))
    write_pdf([(tall,)], tmp_path / "m.pdf", columns=["text"], max_lines_per_cell=3)
    lines = read(tmp_path / "m.pdf").pages[0].extract_text().split("\n")
    assert lines[:4] == ["text", "line 1", "line 2", "\u2026 [+8 lines truncated]"]


def test_unicode_round_trip(tmp_path):
    texts = ["Привет, мир", "Καλημέρα κόσμε", "你好，世界", "日本語のテキスト", "Ёжик — «ёлка»", "混合 mixed Ωμέγα"]
    title = "Отчёт 报告"
    write_pdf([(t,) for t in texts], tmp_path / "u.pdf", columns=["текст"], title=title)
    reader = read(tmp_path / "u.pdf")
    assert reader.metadata.title == title
    lines = reader.pages[0].extract_text().split("\n")
    assert lines[0] == "текст"
    assert lines[1 : 1 + len(texts)] == texts
    assert lines[1 + len(texts)] == title


def test_null_marker_and_value_forms(tmp_path):
    rows = [(None, Decimal("1E-7"), b"\x00\xff", True, float("nan"), -0.0, 0.0)]
    write_pdf(rows, tmp_path / "n.pdf", columns=list("abcdefg"), null_marker="NULL")
    assert table_rows(read(tmp_path / "n.pdf").pages[0])[1] == (
        "NULL", "0.0000001", "00ff", "true", "NaN", "-0.0", "0.0"
    )


def test_repeated_values_keep_their_own_text(tmp_path):
    # value-keyed cache: 0.0 and -0.0 are equal but print differently; 1 and True differ too
    rows = [(0.0,), (-0.0,), (0.0,), (-0.0,)]
    write_pdf(rows, tmp_path / "z.pdf", columns=["v"])
    assert table_rows(read(tmp_path / "z.pdf").pages[0])[1:] == [("0.0",), ("-0.0",), ("0.0",), ("-0.0",)]
    rows = [(1,), (True,), (1.0,), (1,)]
    write_pdf(rows, tmp_path / "b.pdf", columns=["v"])
    assert table_rows(read(tmp_path / "b.pdf").pages[0])[1:] == [("1",), ("true",), ("1.0",), ("1",)]


def test_mapping_rows(tmp_path):
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    write_pdf(rows, tmp_path / "d.pdf")
    assert table_rows(read(tmp_path / "d.pdf").pages[0]) == [("a", "b"), ("1", "x"), ("2", "y")]


def test_rolling_into_parts(tmp_path):
    target = tmp_path / "big.pdf"
    target.write_bytes(b"single file of an earlier, shorter run")
    rows = [(i, f"r{i}") for i in range(1, 301)]
    calls = []
    result = write_pdf(
        iter(rows), target, columns=["id", "v"], rows_per_page=50, max_rows_per_file=120, progress=calls.append
    )
    names = [part_path(target, i) for i in (1, 2, 3)]
    assert [f.path for f in result.files] == names
    assert [f.records for f in result.files] == [120, 120, 60]
    assert result.path == names[0] and result.records == 300
    assert result.bytes == sum(os.path.getsize(n) for n in names)
    assert not target.exists()  # the earlier run's single file is replaced by the parts
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(n) for n in names)
    seen = []
    for name, pages_expected in zip(names, (3, 3, 2), strict=False):
        pages = read(name).pages
        assert len(pages) == pages_expected
        for number, page in enumerate(pages, start=1):
            lines = table_rows(page)
            assert lines[0] == ("id", "v")
            assert footer(page) == f"Page {number} of {pages_expected}"
            seen.extend(lines[1:])
    assert seen == [(str(i), f"r{i}") for i in range(1, 301)]
    # progress after every page: records on finished pages
    # (a file starts a new page: rows 121-150 of the third batch are page 1 of part 2)
    assert calls == [50, 100, 120, 150, 200, 240, 250, 300]


def test_output_is_deterministic(tmp_path):
    rows = [(i, f"значение {i}", "中文", i / 7) for i in range(80)]
    a = write_pdf(rows, tmp_path / "a" / "x.pdf", title="Same")
    b = write_pdf(rows, tmp_path / "b" / "x.pdf", title="Same")
    assert (tmp_path / "a" / "x.pdf").read_bytes() == (tmp_path / "b" / "x.pdf").read_bytes()
    assert a.sha256 == b.sha256


@pytest.mark.parametrize(
    ("page_size", "landscape", "expected"),
    [("letter", False, (612, 792)), ("A4", True, (841.89, 595.28))],
)
def test_page_size_option(tmp_path, page_size, landscape, expected):
    write_pdf([(1,)], tmp_path / "p.pdf", page_size=page_size, landscape=landscape)
    box = read(tmp_path / "p.pdf").pages[0].mediabox
    assert (round(float(box.width), 2), round(float(box.height), 2)) == expected


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "50"])
def test_rows_per_page_must_be_positive(tmp_path, value):
    with pytest.raises(ValueError, match="rows_per_page"):
        write_pdf([(1,)], tmp_path / "x.pdf", rows_per_page=value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"font_size": 0}, "font_size"),
        ({"max_rows_per_file": 0}, "max_rows_per_file"),
        ({"max_lines_per_cell": 0}, "max_lines_per_cell"),
        ({"column_widths": [100]}, "column_widths has 1 widths for 2 columns"),
        ({"column_widths": {"zz": 100}}, "unknown columns \\['zz'\\]"),
        ({"column_widths": [1, 100]}, "column_widths\\['a'\\]"),
        ({"column_widths": [700, 700]}, "add up to 1400.0 pt"),
        ({"page_size": "A0"}, "page_size"),
    ],
)
def test_bad_option_values_are_named(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        write_pdf([(1, 2)], tmp_path / "x.pdf", columns=["a", "b"], **options)
    assert os.listdir(tmp_path) == []


def test_unrenderable_value_mid_export_leaves_no_file(tmp_path):
    rows = [(i, "ok") for i in range(1, 75)] + [(75, object())] + [(i, "ok") for i in range(76, 200)]
    with pytest.raises(TypeError, match="row 75, column 'b': cannot render value of type object"):
        write_pdf(iter(rows), tmp_path / "x.pdf", columns=["a", "b"], rows_per_page=50)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("first", [True, False])  # in the first page (column widths) or later
def test_circular_dict_names_row_and_column(tmp_path, first):
    from airflow_export.writers.values import UnrenderableValueError

    bad = {"k": 1}
    bad["self"] = bad
    at = 3 if first else 75
    rows = [(i, {"ok": i}) for i in range(1, 200)]
    rows[at - 1] = (at, bad)
    with pytest.raises(UnrenderableValueError) as info:
        write_pdf(iter(rows), tmp_path / "x.pdf", columns=["a", "b"], rows_per_page=50)
    assert str(info.value) == (
        f"row {at}, column 'b': cannot render value of type dict (it contains itself: a circular reference)"
    )
    assert os.listdir(tmp_path) == []


def test_font_not_found_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_fonts, "DEFAULT_FONT_PATHS", (str(tmp_path / "none.ttc"),))
    monkeypatch.delenv(pdf_fonts.FONT_ENV_VAR, raising=False)
    with pytest.raises(FontNotFoundError, match="apt-get install -y fonts-wqy-zenhei"):
        write_pdf([(1,)], tmp_path / "x.pdf")
    assert os.listdir(tmp_path) == []


def test_font_path_option(tmp_path):
    with pytest.raises(FontNotFoundError, match="font_path"):
        write_pdf([(1,)], tmp_path / "x.pdf", font_path=tmp_path / "missing.ttf")
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(ValueError, match="cannot be embedded"):
        write_pdf([(1,)], tmp_path / "x.pdf", font_path=bogus)
    result = write_pdf([("Ωмега",)], tmp_path / "x.pdf", font_path=find_font_path())
    assert result.records == 1


def test_rows_continue_on_a_new_page_when_wrapped_rows_fill_it(tmp_path):
    # 50 rows per page requested, but every row is 3 lines tall: they cannot all fit
    rows = [(i, f"a\nb\nc{i}") for i in range(1, 51)]
    result = write_pdf(rows, tmp_path / "c.pdf", columns=["id", "t"], rows_per_page=50)
    pages = read(tmp_path / "c.pdf").pages
    assert result.records == 50 and len(pages) > 1
    ids = [line[0] for page in pages for line in table_rows(page)[1:] if line[0].isdigit() and len(line) == 2]
    assert ids == [str(i) for i in range(1, 51)]
    for page in pages:
        assert table_rows(page)[0] == ("id", "t")


def test_long_title_is_cut_to_the_page_width(tmp_path, font):
    title = "Quarterly " * 40
    write_pdf([(1,)], tmp_path / "t.pdf", title=title)
    reader = read(tmp_path / "t.pdf")
    assert reader.metadata.title == title  # the full title is kept in the metadata
    drawn = [line for line in reader.pages[0].extract_text().split("\n") if line.startswith("Quarterly")][0]
    assert drawn.endswith("\u2026") and title.startswith(drawn[:-1])
    title_size = 9.0  # max(8, 1.5 * 6 pt)
    assert FontMetrics(font, title_size).width(drawn) <= A4_LANDSCAPE[0] - 2 * MARGIN


# ---------------------------------------------------------------- numbers never break, text breaks nicely
#
# WenQuanYi Zen Hei advance widths (1/1000 em): digits 599.609375, "." and "-" 298.8046875,
# "@" 799.8046875. At the automatic 6 pt of A4 landscape with 50 rows: 7 digits = 25.18359375 pt,
# cell padding 2.4 pt each side.

BODY = 6.0  # the automatic font size of these exports (A4 landscape, 50 rows per page)
HPAD = 0.4 * BODY
#: A text wider than half the table: two columns of it in row 1 take the room the other
#: columns do not want, so those keep exactly their first-page width (water filling, no growth).
NOTE = " ".join(["lorem ipsum"] * 60)


def squeezed(rows, columns):
    """``rows`` with two extra columns that hold :data:`NOTE` in the first row only."""
    extra = [(NOTE, NOTE)] + [("", "")] * (len(rows) - 1)
    return [tuple(r) + e for r, e in zip(rows, extra, strict=False)], list(columns) + ["note1", "note2"]


# At 10 pt: digit 5.99609375, "." 2.98828125 ... (see the comment of test_wrap_text)
def test_ids_and_emails_never_break_when_later_rows_are_longer(tmp_path):
    # The bug: widths come from page 1 (ids 1..50, emails up to "user50@example.com"), so
    # later "1000" printed as "100" / "0" and "user100@example.com" as "user100@example.co" / "m".
    rows, columns = squeezed([(i, f"user{i}@example.com") for i in range(1, 2001)], ["id", "email"])
    result = write_pdf(rows, tmp_path / "ids.pdf", columns=columns)
    assert result.records == 2000
    pages = read(tmp_path / "ids.pdf").pages
    extracted = [line for page in pages for line in page.extract_text().split("\n") if "Page" not in line]
    # every row is one line "ID EMAIL" (row 1 continues with its notes)
    row_lines = [line for line in extracted if line[:1].isdigit()]
    assert row_lines[0].startswith("1 user1@example.com lorem ipsum")
    assert row_lines[1:] == [f"{i} user{i}@example.com" for i in range(2, 2001)]
    # drawn: one Tj per id and per email, whole
    cells = [s for page in pages for s in sized_shows(page)[:-2]]  # not the footer
    ids = [c for c in cells if c[0].isdigit()]
    assert [c[0] for c in ids] == [str(i) for i in range(1, 2001)]
    id_right = MARGIN + 7 * 3.59765625 + 2 * HPAD - HPAD  # 7 digits wide, right-aligned
    widths = {digits: digits * 3.59765625 for digits in range(1, 5)}
    for text, x, _, size in ids:
        assert size == BODY  # 4 digits fit in the 7 reserved: no shrinking
        assert x + widths[len(text)] == pytest.approx(id_right, abs=0.01)
    emails = {c[0]: c for c in cells if "@" in c[0]}
    assert sorted(emails) == sorted(f"user{i}@example.com" for i in range(1, 2001))
    # the first page's widest email fits as is; longer ones are shrunk: 1 more digit -> 5.65 pt,
    # 2 more -> 5.34 pt (see test_fit_font_size), all left-aligned at the same x
    assert {size for text, (_, _, _, size) in emails.items() if len(text) <= 18} == {6.0}
    assert {size for text, (_, _, _, size) in emails.items() if len(text) == 19} == {5.65}
    assert {size for text, (_, _, _, size) in emails.items() if len(text) == 20} == {5.34}
    assert {x for _, x, _, _ in emails.values()} == {round(MARGIN + 29.98359375 + HPAD, 2)}


def test_a_long_float_in_a_narrow_column_is_drawn_whole_and_smaller(tmp_path, font):
    values = [1.5, 2.25, 123456789.123, Decimal("123456789.123"), 10**40, 7.0]
    rows, columns = squeezed([(v,) for v in values], ["amount"])
    write_pdf(rows, tmp_path / "f.pdf", columns=columns, rows_per_page=2, font_size=BODY)  # widths from 1.5, 2.25
    pages = read(tmp_path / "f.pdf").pages
    cells = [s for page in pages for s in sized_shows(page)]
    right = MARGIN + 29.98359375 - HPAD  # "amount" is narrower than 7 digits: the column is 7 digits
    by_text = {c[0]: c for c in cells}
    # the decimal points line up: page 1 has 2 decimals ("2.25"), so "1.5" and "7.0" end one digit early
    for text, end in (("2.25", right), ("1.5", right - 3.59765625), ("7.0", right - 3.59765625)):
        _, x, _, size = by_text[text]
        assert size == BODY and x + FontMetrics(font, BODY).width(text) == pytest.approx(end, abs=0.01)
    # the float (value-keyed path) and the Decimal (text path) are one Tj each, at 3.36 pt, right-aligned
    long_cells = [c for c in cells if c[0] == "123456789.123"]
    assert len(long_cells) == 2
    for _, x, _, size in long_cells:
        assert size == 3.36
        assert x + FontMetrics(font, 3.36).width("123456789.123") == pytest.approx(right, abs=0.01)
    # pypdf's extraction reads it whole, on its row's line, and sees the smaller size
    page2 = pages[1].extract_text().split("\n")
    assert page2[1:3] == ["123456789.123", "123456789.123"]
    sizes = {}
    pages[1].extract_text(visitor_text=lambda text, cm, tm, font_dict, font_size: sizes.setdefault(text, font_size))
    assert sizes["123456789.123"] == 3.36
    # 10**40 would need 2.05 pt, below the 3 pt floor: wrapped like text, nothing lost
    big = [c for c in cells if len(c[0]) >= 6 and set(c[0]) <= {"0", "1"}]
    assert [c[0] for c in big] == ["1000000", "0000000", "0000000", "0000000", "0000000", "000000"]
    assert "".join(c[0] for c in big) == str(10**40) and {c[3] for c in big} == {BODY}


def test_dates_and_booleans_never_wrap(tmp_path, font):
    page1 = [(date(2024, 1, 2), True), (date(2024, 1, 3), True)]
    page2 = [(datetime(2024, 1, 2, 3, 4, 5), False)]
    rows, columns = squeezed(page1 + page2, ["when", "ok"])
    write_pdf(rows, tmp_path / "d.pdf", columns=columns, rows_per_page=2, font_size=BODY)
    pages = read(tmp_path / "d.pdf").pages
    first = {c[0]: c for c in sized_shows(pages[0])}
    second = {c[0]: c for c in sized_shows(pages[1])}
    assert first["2024-01-02"][3] == BODY and first["true"][3] == BODY
    # left-aligned like the first page's values, one line each, shrunk:
    # "2024-01-02T03:04:05" (60.56 pt) into "2024-01-02" (32.38 pt) -> 3.2 pt;
    # "false" (12.82 pt) into the narrowest column's 2 em = 12 pt -> 5.61 pt
    assert second["2024-01-02T03:04:05"][1:] == (first["2024-01-02"][1], second["2024-01-02T03:04:05"][2], 3.2)
    assert second["false"][1] == first["true"][1] and second["false"][3] == 5.61
    assert pages[1].extract_text().split("\n")[1] == "2024-01-02T03:04:05 false"


def test_a_column_mixing_text_and_numbers(tmp_path):
    # column widths from "not applicable" (36.77 pt); on page 2 the int (43.17 pt) is shrunk to
    # one line at 5.11 pt; words needing more than 30 % shrink are broken ("user100@example.com"
    # would need 3.56 pt), a word needing less is shrunk
    page1 = [("not applicable",), ("not applicable",)]
    page2 = [(123456789012,), ("abcdefghijklmnopqrstuvwxyz",), ("user100@example.com",), ("unapplicableness",)]
    rows, columns = squeezed(page1 + page2, ["ref"])
    write_pdf(rows, tmp_path / "m.pdf", columns=columns, rows_per_page=2, font_size=BODY)
    pages = read(tmp_path / "m.pdf").pages
    assert len(pages) == 3  # 2 rows per page
    skip = {"ref", "note1", "note2", "m", "6 rows", "Page 2 of 3", "Page 3 of 3"}  # header, title, footers
    cells = [(t, size) for page in pages[1:] for t, _, _, size in sized_shows(page) if t not in skip]
    assert cells == [
        ("123456789012", 5.11),
        ("abcdefghijklm", 6.0),
        ("nopqrstuvwxy", 6.0),
        ("z", 6.0),
        ("user100@exa", 6.0),
        ("mple.com", 6.0),
        ("unapplicableness", 4.82),  # 45.76 pt -> 4.82 pt >= 70 % of 6 pt: shrunk
    ]


# ---------------------------------------------------------------- rolling: one open file, bounded memory

#: Run as ``python -c CHILD parts rows_per_part nofile_limit dir``: loads the font and writes a
#: 2-part warm-up export (one-time allocations), optionally lowers RLIMIT_NOFILE (soft and hard),
#: then writes ``parts`` parts and prints JSON: files, records, open descriptors after, VmHWM.
CHILD = textwrap.dedent(
    """
    import json, os, resource, sys
    from airflow_export.writers.pdf.fonts import find_font_path, load_font
    from airflow_export.writers.pdf import write_pdf

    parts, per_part, limit, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    load_font(find_font_path())

    def rows(n):
        for i in range(n):
            yield (i, f"name {i}", i * 1.5, f"text {i % 7} of the row")

    def status(key):
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(key + ":"))

    write_pdf(rows(2 * per_part), os.path.join(out, "warm.pdf"), max_rows_per_file=per_part, rows_per_page=25)
    if limit:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    result = write_pdf(rows(parts * per_part), os.path.join(out, "big.pdf"), max_rows_per_file=per_part,
                       rows_per_page=25)
    print(json.dumps({
        "files": len(result.files),
        "records": [f.records for f in result.files],
        "sizes": sorted({f.bytes // 1000 for f in result.files}),
        "open_fds": len(os.listdir("/proc/self/fd")),
        "hwm_kb": status("VmHWM"),
    }))
    """
)


def run_children(tmp_path, specs):
    """Start one :data:`CHILD` per ``(parts, rows_per_part, nofile_limit)`` at once; their JSON results."""
    procs = []
    for index, (parts, per_part, limit) in enumerate(specs):
        out = tmp_path / f"run{index}"
        out.mkdir()
        procs.append(subprocess.Popen(
            [sys.executable, "-c", CHILD, str(parts), str(per_part), str(limit), str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout))
    return results


def test_rolling_keeps_one_file_open_and_memory_flat(tmp_path):
    """200 parts under a 64-descriptor limit (the old writer kept every part open until commit
    and died with EMFILE at part 63), and those 200 parts peak within 10 MB of 5 parts of the
    same size (it held ~1 MB per part: each open part's 1 MB write buffer, +200 MB here).

    Peak RSS is the child's ``VmHWM`` (/proc/self/status): its own address space's high-water mark,
    reset by exec. ``ru_maxrss`` is not used: Linux carries the parent's high-water mark into a
    child started by vfork+exec (what ``subprocess`` does), so a child smaller than pytest would
    report pytest's size. Parts are small (20 rows, one page): a part's fixed cost (ReportLab
    formats the document and subsets the font at save, ~10-20 ms) dominates the run time."""
    many, few = run_children(tmp_path, [(200, 20, 64), (5, 20, 0)])
    assert many["files"] == 200 and many["records"] == [20] * 200
    assert many["open_fds"] == few["open_fds"]  # no part is left open (the old writer: +1 per part)
    assert few["files"] == 5 and few["records"] == [20] * 5
    assert many["sizes"] == few["sizes"]  # the same part size (in kB)
    growth_mb = (many["hwm_kb"] - few["hwm_kb"]) / 1024
    assert growth_mb < 10, (few, many)
    # every part is in place, no temporary file is left
    names = sorted(os.listdir(tmp_path / "run0"))
    assert names == [f"big.part-{i:05d}.pdf" for i in range(1, 201)] + ["warm.part-00001.pdf", "warm.part-00002.pdf"]


def test_a_finished_part_is_closed_before_the_next_begins(tmp_path):
    # in process: the number of open descriptors seen after every page does not grow with the
    # parts done (one temporary file open at a time)
    counts = []
    write_pdf(
        ((i, f"r{i}") for i in range(600)),
        tmp_path / "p.pdf",
        rows_per_page=10,
        max_rows_per_file=20,
        progress=lambda _: counts.append(len(os.listdir("/proc/self/fd"))),
    )
    assert len(os.listdir(tmp_path)) == 30
    # after page 1 of a part its file is open; after page 2 the part is finished and closed
    # before the next is opened: one fewer. The old writer added one per part.
    assert counts == counts[:2] * 30 and counts[0] - counts[1] == 1


# ---------------------------------------------------------------- characters the font lacks

DEJAVU = DEFAULT_FALLBACK_FONT_PATHS[0]


def to_unicode(font) -> dict[int, str]:
    """The font's ToUnicode CMap: code -> text (ReportLab writes one ``<XX> <YYYY>`` per glyph)."""
    data = font["/ToUnicode"].get_object().get_data().decode("ascii")
    return {int(code, 16): chr(int(uni, 16)) for code, uni in re.findall(r"<([0-9A-F]{2})> <([0-9A-F]{4,6})>", data)}


def font_runs(page: pypdf.PageObject) -> list[tuple[str, str]]:
    """(font base name without the subset tag, text decoded through that font's ToUnicode map) of
    every Tj on the page, in content order: what was drawn, in the order it was drawn."""
    fonts = page["/Resources"]["/Font"]
    maps = {name: to_unicode(fonts[name].get_object()) for name in fonts}
    out = []
    current = None
    for operands, operator in page.get_contents().operations:
        if operator == b"Tf":
            current = operands[0]
        elif operator == b"Tj":
            raw = operands[0].original_bytes if hasattr(operands[0], "original_bytes") else bytes(operands[0])
            base = fonts[current].get_object()["/BaseFont"].split("+", 1)[1]
            out.append((base, "".join(maps[current][b] for b in raw)))
    return out


def test_hebrew_and_arabic_are_drawn_with_the_fallback_font(tmp_path, caplog):
    rows = [("שלום",), ("ab שלום cd",), ("مرحبا",), ("\ufb01le",), ("中文",)]
    with caplog.at_level("WARNING", logger="airflow_export"):
        write_pdf(rows, tmp_path / "h.pdf", columns=["greeting"], title="Report")
    assert [r for r in caplog.records if "no glyph" in r.getMessage()] == []  # nothing missing
    page = read(tmp_path / "h.pdf").pages[0]
    assert sorted(f.get_object()["/BaseFont"] for f in page["/Resources"]["/Font"].values()) == [
        "/AAAAAA+DejaVuSans", "/AAAAAA+WenQuanYiZenHei-0",
    ]
    # Drawn, in content order, each cell's characters in their stored (logical) order, switching
    # to the fallback font only for the characters the main font lacks:
    cells = font_runs(page)[1:-3]  # not the header, title and footer
    assert cells == [
        ("DejaVuSans", "שלום"),
        ("WenQuanYiZenHei-0", "ab "), ("DejaVuSans", "שלום"), ("WenQuanYiZenHei-0", " cd"),
        ("DejaVuSans", "مرحبا"),  # the base letters U+0645 ... : no shaping into joined forms
        ("DejaVuSans", "\ufb01"), ("WenQuanYiZenHei-0", "le"),
        ("WenQuanYiZenHei-0", "中文"),
    ]
    # pypdf's extract_text() takes a run of right-to-left glyphs to be in visual order and
    # reverses it to get the logical text. The writer draws logical order left to right (no
    # bidi reordering), so the extracted Hebrew and Arabic come out reversed: what a reader sees.
    lines = page.extract_text().split("\n")
    assert lines[1:6] == ["םולש", "ab םולש cd", "ابحرم", "\ufb01le", "中文"]
    assert lines[1] == "שלום"[::-1] and lines[3] == "مرحبا"[::-1]


def test_decomposed_accents_are_drawn_composed(tmp_path):
    write_pdf([("Cafe\u0301",), ("A\u030angstro\u0308m",)], tmp_path / "n.pdf", columns=["nom"])
    page = read(tmp_path / "n.pdf").pages[0]
    assert page.extract_text().split("\n")[1:3] == ["Caf\u00e9", "\u00c5ngstr\u00f6m"]
    # the precomposed letters are in the main font: no fallback font is used (or loaded)
    assert [f.get_object()["/BaseFont"] for f in page["/Resources"]["/Font"].values()] == ["/AAAAAA+WenQuanYiZenHei-0"]


def test_the_fallback_font_changes_nothing_when_not_needed(tmp_path):
    rows = [(i, f"значение {i}", "中文", i / 7) for i in range(60)]
    write_pdf(rows, tmp_path / "a.pdf", title="Same")
    write_pdf(rows, tmp_path / "b.pdf", title="Same", fallback_font_path=None)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def missing_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "no glyph" in r.getMessage()]


def test_characters_in_no_font_are_logged_once_per_export(tmp_path, caplog):
    # in order of appearance: column widths are measured first (header and first page, column
    # by column), then the title; each character once, each place once, one line per export
    rows = [("नमस्ते", "crab \U0001F980"), ("नमस्ते again", "ok"), ("ก", "\U0001F980")]
    with caplog.at_level("WARNING", logger="airflow_export"):
        write_pdf(rows, tmp_path / "g.pdf", columns=["hello", "sea \u0E01"], title="Thai \u0E01")
        write_pdf(rows, tmp_path / "g2.pdf", columns=["hello", "sea \u0E01"], title="Thai \u0E01")
    expected = (
        "PDF {path}: the fonts (wqy-zenhei.ttc, fallback DejaVuSans.ttf) have no glyph for 8 distinct characters: "
        "U+0928 DEVANAGARI LETTER NA, U+092E DEVANAGARI LETTER MA, U+0938 DEVANAGARI LETTER SA, "
        "U+094D DEVANAGARI SIGN VIRAMA, U+0924 DEVANAGARI LETTER TA, U+0947 DEVANAGARI VOWEL SIGN E, "
        "U+0E01 THAI CHARACTER KO KAI, U+1F980 CRAB; in column 'hello', header, column 'sea \u0E01', title; "
        "they show as empty boxes"
    )
    assert missing_warnings(caplog) == [
        expected.format(path=tmp_path / "g.pdf"), expected.format(path=tmp_path / "g2.pdf")
    ]


def test_the_missing_character_list_is_bounded(tmp_path, caplog):
    consonants = "".join(chr(c) for c in range(0x0915, 0x093A))  # 37 Devanagari consonants
    with caplog.at_level("WARNING", logger="airflow_export"):
        write_pdf([(consonants,), ("x",)], tmp_path / "b.pdf", columns=["c"])
    (message,) = missing_warnings(caplog)
    listed = ", ".join(f"U+{c:04X} DEVANAGARI LETTER {n}" for c, n in zip(range(0x0915, 0x0929), [
        "KA", "KHA", "GA", "GHA", "NGA", "CA", "CHA", "JA", "JHA", "NYA",
        "TTA", "TTHA", "DDA", "DDHA", "NNA", "TA", "THA", "DA", "DHA", "NA",
    ], strict=False))
    assert message.endswith(f"have no glyph for 37 distinct characters: {listed} and 17 more; in column 'c'; "
                            "they show as empty boxes")


def test_without_a_fallback_font_hebrew_is_missing(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="airflow_export"):
        write_pdf([("שלום",)], tmp_path / "n.pdf", columns=["w"], fallback_font_path=None)
    assert missing_warnings(caplog) == [
        f"PDF {tmp_path / 'n.pdf'}: the fonts (wqy-zenhei.ttc, no fallback font) have no glyph for 4 distinct "
        "characters: U+05E9 HEBREW LETTER SHIN, U+05DC HEBREW LETTER LAMED, U+05D5 HEBREW LETTER VAV, "
        "U+05DD HEBREW LETTER FINAL MEM; in column 'w'; they show as empty boxes"
    ]
    page = read(tmp_path / "n.pdf").pages[0]
    assert len(page["/Resources"]["/Font"]) == 1


def test_emoji_is_drawn_with_the_fallback_font(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="airflow_export"):
        write_pdf([("smile \U0001F600",)], tmp_path / "e.pdf", columns=["mood"])
    assert missing_warnings(caplog) == []
    page = read(tmp_path / "e.pdf").pages[0]
    assert font_runs(page)[1:-3] == [("WenQuanYiZenHei-0", "smile "), ("DejaVuSans", "\U0001F600")]
    # ReportLab writes the ToUnicode entry of a character beyond the BMP as <1F600> where the PDF
    # format wants UTF-16BE (<D83DDE00>; ttfonts.makeToUnicodeCMap formats "%04X"), so pypdf cannot
    # map it back: the glyph is drawn but is not extracted.
    fonts = page["/Resources"]["/Font"].values()
    fallback = next(f.get_object() for f in fonts if "DejaVu" in f.get_object()["/BaseFont"])
    assert b"<01> <1F600>" in fallback["/ToUnicode"].get_object().get_data()
    assert page.extract_text().split("\n")[1] == "smile "


def test_fallback_font_path_option(tmp_path):
    with pytest.raises(FontNotFoundError, match="fallback_font_path .*missing.ttf does not exist"):
        write_pdf([(1,)], tmp_path / "x.pdf", fallback_font_path=tmp_path / "missing.ttf")
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    with pytest.raises(ValueError, match="fallback_font_path: font_path .*bogus.ttf .*cannot be embedded"):
        write_pdf([(1,)], tmp_path / "x.pdf", fallback_font_path=bogus)
    with pytest.raises(ValueError, match="fallback_font_path must be a path or None, got 3"):
        write_pdf([(1,)], tmp_path / "x.pdf", fallback_font_path=3)
    assert sorted(os.listdir(tmp_path)) == ["bogus.ttf"]
    assert find_fallback_font_path() == DEJAVU
    result = write_pdf([("שלום",)], tmp_path / "x.pdf", fallback_font_path=DEJAVU)
    assert result.records == 1


# ---------------------------------------------------------------- columns that do not fit


@pytest.mark.parametrize(
    ("count", "options", "expected"),
    [
        # 3 pt: a column is at least 2 em + 2 x 0.4 em = 8.4 pt; 200 x 8.4 + 2 x 24 = 1,728 pt
        (200, {"font_size": 3}, "200 columns do not fit across the page: at font_size 3 each column needs at least "
         "8.4 pt (2 em + padding), so the page must be at least 1,728.0 pt wide (with the 24 pt margins) and it is "
         "841.9 pt; use page_size=(1728, 595) or fewer columns"),
        # automatic 6 pt: 16.8 pt a column; even 3 pt needs more than A4
        (200, {}, "200 columns do not fit across the page: at font_size 6 each column needs at least 16.8 pt "
         "(2 em + padding), so the page must be at least 3,408.0 pt wide (with the 24 pt margins) and it is 841.9 pt; "
         "use page_size=(3408, 595), font_size=3 (needs a page 1,728.0 pt wide) or fewer columns"),
        # 50 x 16.8 + 48 = 888 pt; 793.9 / (50 x 2.8) = 5.67 -> 5.5 pt fits
        (50, {}, "50 columns do not fit across the page: at font_size 6 each column needs at least 16.8 pt "
         "(2 em + padding), so the page must be at least 888.0 pt wide (with the 24 pt margins) and it is 841.9 pt; "
         "use page_size=(888, 595), font_size=5.5 (fits this page) or fewer columns"),
        # portrait letter at 8 pt: 30 x 22.4 + 48 = 720 pt; landscape (792 pt) is enough
        (30, {"page_size": "letter", "landscape": False, "font_size": 8}, "30 columns do not fit across the page: at "
         "font_size 8 each column needs at least 22.4 pt (2 em + padding), so the page must be at least 720.0 pt wide "
         "(with the 24 pt margins) and it is 612.0 pt; use landscape=True, page_size=(720, 792), font_size=6.5 "
         "(fits this page) or fewer columns"),
        # 40 x 22.4 + 48 = 944 pt: wider than high, so the page size needs landscape=True too
        (40, {"page_size": "letter", "landscape": False, "font_size": 8}, "40 columns do not fit across the page: at "
         "font_size 8 each column needs at least 22.4 pt (2 em + padding), so the page must be at least 944.0 pt wide "
         "(with the 24 pt margins) and it is 612.0 pt; use page_size=(944, 792), landscape=True, font_size=5 "
         "(fits this page) or fewer columns"),
    ],
)
def test_too_many_columns_says_what_would_fit(tmp_path, count, options, expected):
    # With explicit column_widths there are no column groups: the columns must fit across.
    options.setdefault("landscape", True)
    with pytest.raises(ValueError) as info:
        write_pdf([tuple(range(count))], tmp_path / "x.pdf", column_widths=[None] * count, **options)
    assert str(info.value) == expected
    assert os.listdir(tmp_path) == []


def test_the_suggested_page_size_fits(tmp_path):
    result = write_pdf([tuple(range(200))], tmp_path / "x.pdf", font_size=3, page_size=(1728, 595))
    assert result.records == 1


def test_integers_longer_than_pythons_str_limit_render(tmp_path):
    result = write_pdf([(10**5000,)], tmp_path / "big.pdf", columns=["n"])
    assert result.records == 1
