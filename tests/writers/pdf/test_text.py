"""PDF cell text: cleaning, shrink-to-fit, wrapping, truncation (pure functions)."""

from __future__ import annotations

import pytest

from airflow_export.writers.pdf.fonts import (
    FontMetrics,
)
from airflow_export.writers.pdf.text import clean_text, fit_font_size, truncate_lines, wrap_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("a\tb", "a b"),
        ("a\x00b", "a\ufffdb"),
        ("a\x7fb", "a\ufffdb"),
        ("a\u2028b", "a\nb"),
        ("S&P <500>", "S&P <500>"),
        ("中文", "中文"),
        # NFC: base letter + combining mark -> the precomposed character where Unicode has one
        ("Cafe\u0301", "Caf\u00e9"),
        ("A\u030angstro\u0308m", "\u00c5ngstr\u00f6m"),
        ("\u1100\u1161", "\uac00"),  # Hangul jamo -> syllable
        ("q\u0301", "q\u0301"),  # no precomposed q-acute: unchanged
        ("\ufb01le", "\ufb01le"),  # a compatibility ligature is not decomposed (NFC, not NFKC)
        ("e\u0301\x00", "\u00e9\ufffd"),  # normalised and cleaned
    ],
)
def test_clean_text(text, expected):
    assert clean_text(text) == expected


def test_clean_text_replacement():
    assert clean_text("a\x1bb", "\u25a1") == "a\u25a1b"


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("", 30, [""]),
        ("00000", 30, ["00000"]),  # 29.98 pt fits in 30
        ("000000", 30, ["00000", "0"]),  # a long word is broken between characters
        ("0000000000", 30, ["00000", "00000"]),
        ("00 00 00", 30, ["00 00", "00"]),  # 5 digits + 1 space = 32.98 > 30 -> break at the space
        ("00 00 00", 41.9, ["00 00", "00"]),  # 6 digits + 2 spaces = 41.97 pt > 41.9
        ("00 00 00", 42, ["00 00 00"]),
        ("0 0", 30, ["0 0"]),
        ("00\n00", 100, ["00", "00"]),  # hard line breaks kept
        ("0000 0000000", 30, ["0000", "00000", "00"]),
    ],
)
def test_wrap_text(font, text, width, expected):
    metrics = FontMetrics(font, 10)
    assert wrap_text(text, width, metrics) == expected
    assert all(metrics.width(line) <= width for line in expected)


@pytest.mark.parametrize(
    ("lines", "limit", "expected"),
    [
        (["a", "b"], 2, ["a", "b"]),
        (["a", "b", "c"], 2, ["a", "\u2026 [+2 lines truncated]"]),
        (["a", "b", "c", "d", "e"], 3, ["a", "b", "\u2026 [+3 lines truncated]"]),
        (["a", "b", "c"], 1, ["\u2026 [+3 lines truncated]"]),
    ],
)
def test_truncate_lines(lines, limit, expected):
    assert truncate_lines(lines, limit, lambda s: [s]) == expected


def test_truncate_lines_wraps_the_marker_in_a_narrow_cell():
    # a "wrap" that cuts at 8 characters: the long marker needs 3 lines, so with 3 lines
    # allowed nothing else fits -> the marker counts all 5 lines
    def wrap(s):
        return [s[i : i + 8] for i in range(0, len(s), 8)]

    assert truncate_lines(["a", "b", "c", "d", "e"], 3, wrap) == ["\u2026 [+5 li", "nes trun", "cated]"]
    # one line allowed: the short marker
    assert truncate_lines(["a", "b", "c", "d", "e"], 1, wrap) == ["\u2026+5"]


@pytest.mark.parametrize(
    ("width", "size", "max_width", "floor", "expected"),
    [
        (50, 10, 100, 3, 10),  # fits: unchanged
        (100, 10, 100, 3, 10),  # exactly fits
        (120, 10, 100, 3, 8.33),  # 8.333.. rounded down
        (300, 10, 100, 3, 3.33),
        (400, 10, 100, 3, None),  # 2.5 pt < the 3 pt floor
        (120, 10, 100, 9, None),  # 8.33 < a 9 pt floor
        (44.970703125, 6, 25.18359375, 3, 3.36),  # "123456789.123" into 7 digits at 6 pt
        (61.845703125, 6, 58.248046875, 3, 5.65),  # "user100@example.com" where "user50@example.com" fits
    ],
)
def test_fit_font_size(width, size, max_width, floor, expected):
    fitted = fit_font_size(width, size, max_width, floor)
    assert fitted == expected
    if fitted is not None:
        assert width * fitted / size <= max_width


@pytest.mark.parametrize(
    ("text", "width", "max_shrink", "floor", "expected"),
    [
        ("000000", 30, 0.0, 3, ["00000", "0"]),  # no shrink asked: broken as before
        ("000000", 30, 0.3, 3, ["000000"]),  # 35.98 pt -> 8.33 pt >= 7 pt: kept whole
        ("000000 ", 30, 0.3, 3, ["000000"]),  # a trailing space adds no empty line
        ("00000000", 30, 0.3, 3, ["00000", "000"]),  # 47.97 pt would need 6.25 pt < 7 pt: broken
        ("000000", 30, 0.3, 9, ["00000", "0"]),  # 8.33 pt is below a 9 pt floor
        ("a 000000 b", 30, 0.3, 3, ["a", "000000", "b"]),  # the shrunk word has its own line
        ("www.example.com/path", 90, 0.0, 3, ["www.example.com/", "path"]),
        # broken after punctuation where that takes no more lines than breaking anywhere
        ("order-2024-000123-XYZ", 60, 0.0, 3, ["order-2024-", "000123-XYZ"]),  # not "order-2024-0"
        ("https://x.org/abc", 50, 0.0, 3, ["https://x.", "org/abc"]),  # not "https://x.o"
        ("a_b_c_d_e_f_g", 30, 0.0, 3, ["a_b_", "c_d_", "e_f_g"]),
        # ... but not when it would take more lines: "www." / "example." / "com/path" is 3
        ("www.example.com/path", 60, 0.0, 3, ["www.example", ".com/path"]),
        ("user1991@example.com", 60, 0.0, 3, ["user1991@e", "xample.com"]),
    ],
)
def test_wrap_text_shrinks_or_breaks_long_words(font, text, width, max_shrink, floor, expected):
    metrics = FontMetrics(font, 10)
    lines = wrap_text(text, width, metrics, max_shrink, floor)
    assert lines == expected
    for line in lines:
        if metrics.width(line) > width:  # only a shrunk word: it fits at >= 70 % of the size
            assert fit_font_size(metrics.width(line), 10, width, floor) >= 7
