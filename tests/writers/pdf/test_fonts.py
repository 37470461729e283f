"""The PDF fonts: measuring, the fallback font set, the parsed-font cache."""

from __future__ import annotations

import math
import os

import pytest

from airflow_export.writers.pdf import font_cache
from airflow_export.writers.pdf.fonts import (
    DEFAULT_FALLBACK_FONT_PATHS,
    FontMetrics,
    FontSet,
    find_fallback_font_path,
    find_font_path,
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


def test_font_cache_face_equals_parsed_face(tmp_path, monkeypatch):
    from reportlab.pdfbase.ttfonts import TTFont

    monkeypatch.setenv(font_cache.FONT_CACHE_ENV_VAR, str(tmp_path))
    paths = [find_font_path(), find_fallback_font_path()]
    for path in filter(None, paths):
        ref = TTFont("CacheTest", path)
        cache_file = font_cache.face_cache_file(path, 0)
        font_cache.write_face_cache(ref, cache_file)
        got = font_cache.font_from_cache("CacheTest", path, cache_file)
        a, b = vars(ref.face), vars(got.face)
        assert set(a) == set(b)
        for key in a:
            if key == "_pdfScale":
                assert [a[key](v) for v in (0, 1, 512, 1000)] == [b[key](v) for v in (0, 1, 512, 1000)]
            else:
                assert type(a[key]) is type(b[key]) and a[key] == b[key], key
        for key in ("charToGlyph", "charWidths", "glyphToChar"):
            assert list(a[key].items()) == list(b[key].items())
            assert all(type(x) is type(y) for x, y in zip(a[key].values(), b[key].values(), strict=False))
        assert set(vars(ref)) == set(vars(got))
        assert {k: v for k, v in vars(ref).items() if k not in ("face", "state", "encoding")} == {
            k: v for k, v in vars(got).items() if k not in ("face", "state", "encoding")
        }


def test_font_cache_ignores_bad_files(tmp_path, monkeypatch):
    import pickle

    monkeypatch.setenv(font_cache.FONT_CACHE_ENV_VAR, str(tmp_path))
    path = find_font_path()
    cache_file = font_cache.face_cache_file(path, 0)
    os.makedirs(os.path.dirname(cache_file), exist_ok=True)
    with open(cache_file, "wb") as fh:  # a pickle that would call a function: refused
        pickle.dump({"state": os.getcwd, "arrays": {}}, fh)
    assert font_cache.font_from_cache("X", path, cache_file) is None
    with open(cache_file, "wb") as fh:
        fh.write(b"not a pickle")
    assert font_cache.font_from_cache("X", path, cache_file) is None
    monkeypatch.setenv(font_cache.FONT_CACHE_ENV_VAR, "off")
    assert font_cache.font_cache_dir() is None and font_cache.face_cache_file(path, 0) is None
