"""The PDF fonts: measuring, the fallback font set, loading without the raw font bytes."""

from __future__ import annotations

import math

import pytest

from airflow_export.writers.pdf.fonts import (
    DEFAULT_FALLBACK_FONT_PATHS,
    FontMetrics,
    FontSet,
    find_fallback_font_path,
    find_font_path,
    load_font,
)

DEJAVU = DEFAULT_FALLBACK_FONT_PATHS[0]


def test_measured_widths_match_reportlab(font):
    # the helper the wrapping relies on agrees with ReportLab's own stringWidth
    metrics = FontMetrics(font, 7)
    for text in ("flights", "Привет", "中文字符", "S&P <500>"):
        assert metrics.width(text) == font.stringWidth(text, 7)
        assert math.isclose(sum(metrics.char_widths(text)), metrics.width(text))


def test_reportlab_uses_the_rl_accel_c_extension():
    from reportlab.lib import rl_accel

    for name in ("instanceStringWidthTTF", "escapePDF", "fp_str"):
        assert type(getattr(rl_accel, name)).__name__ == "builtin_function_or_method", name
    assert rl_accel._py_funcs == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", None),
        ("中文 Ωμέγα", None),  # all in the main font
        ("שלום", [(True, "שלום")]),
        ("ab שלום cd", [(False, "ab "), (True, "שלום"), (False, " cd")]),
        ("\ufb01le", [(True, "\ufb01"), (False, "le")]),
        ("q\u0301", [(False, "q"), (True, "\u0301")]),
        ("\u0928\u092e", None),  # Devanagari: in neither font, left to the main font
    ],
)
def test_font_set_runs(font, text, expected):
    fonts = FontSet(font, DEJAVU)
    fonts.check(text, "x")
    assert fonts.runs(text) == expected


@pytest.mark.parametrize(
    ("texts", "listed", "expected"),
    [
        ([], 20, None),
        (["abc", "中文", "שלום"], 20, None),  # all drawn (main or fallback font)
        (["\U0001F980"], 20, "1 distinct character: U+1F980 CRAB; in here"),
        (["\u0E01\u0E02", "\u0E01"], 20,
         "2 distinct characters: U+0E01 THAI CHARACTER KO KAI, U+0E02 THAI CHARACTER KHO KHAI; in here"),
        (["\u0E01\u0E02\u0E03"], 2,
         "3 distinct characters: U+0E01 THAI CHARACTER KO KAI, U+0E02 THAI CHARACTER KHO KHAI and 1 more; in here"),
        (["\ue000"], 20, "1 distinct character: U+E000 <unnamed>; in here"),  # private use: no name
        # memory bound: 1000 distinct remembered, the count says "1000+"
        (["".join(chr(c) for c in range(0xE000, 0xE000 + 1500))], 1,
         "1000+ distinct characters: U+E000 <unnamed> and 999+ more; in here"),
    ],
)
def test_missing_summary(font, texts, listed, expected):
    fonts = FontSet(font, DEJAVU)
    for text in texts:
        fonts.check(text, "here")
    assert fonts.missing_summary(listed) == expected


def test_a_default_fallback_that_cannot_load_is_skipped(font, tmp_path, caplog):
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"not a font")
    fonts = FontSet(font, str(bogus))  # as found by the default search: not required
    with caplog.at_level("WARNING", logger="airflow_export"):
        fonts.check("שלום", "column 'w'")
    assert fonts.fallback is None and fonts.runs("שלום") is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["PDF fallback font not used"]
    assert fonts.missing_summary().startswith("4 distinct characters: U+05E9 HEBREW LETTER SHIN")


def test_fallback_widths_are_the_fallback_fonts(font):
    # DejaVu Sans advance widths (1/1000 em): ש 708.49609375, ל 568.359375, ו 272.4609375,
    # ם 663.57421875; WenQuanYi has none (its default width is 365.234375)
    fonts = FontSet(font, DEJAVU)
    metrics = FontMetrics(font, 10, fonts)
    assert metrics.width("שלום") == 4 * 3.65234375  # before the fallback is loaded
    fonts.check("שלום", "x")  # loads it: the metrics made with this set now measure with it
    assert fonts.fallback is not None
    assert metrics.width("שלום") == 22.12890625
    assert metrics.width("ab שלום") == 2 * 5.390625 + 2.998046875 + 22.12890625  # a, b, space: WenQuanYi
    assert metrics.char_widths("aש") == [5.390625, 7.0849609375]


def test_load_font_keeps_no_raw_font_bytes_and_parses_once():
    # The raw file bytes (17 MB for WenQuanYi Zen Hei) are not held: subsetting maps the file
    # again at the end of each PDF (ADR 0041). The parsed font is shared by the process.
    for path in filter(None, (find_font_path(), find_fallback_font_path())):
        font = load_font(path)
        assert "_ttf_data" not in vars(font.face)
        assert load_font(path) is font
        assert len(font.face.charToGlyph) > 1000


def test_no_disk_font_cache_is_written(tmp_path, monkeypatch):
    # ADR 0041: the parsed-font disk cache cost more memory than the time it saved; it is gone.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("airflow_export.writers.pdf.fonts._CACHE", {})
    load_font(find_font_path())
    assert list(tmp_path.iterdir()) == []
