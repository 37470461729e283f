"""The PDF page geometry and column widths (pure functions)."""

from __future__ import annotations

import pytest

from airflow_export.writers.pdf.fonts import (
    FontMetrics,
)
from airflow_export.writers.pdf.layout import (
    auto_font_size,
    fit_column_widths,
    numeric_min_width,
    page_geometry,
    resolve_page_size,
)

A4_LANDSCAPE = (841.8897637795277, 595.2755905511812)


@pytest.mark.parametrize(
    ("wanted", "available", "minimum", "expected"),
    [
        ([10, 30], 80, 5, [20.0, 60.0]),  # fits: grow in proportion
        ([40, 40], 80, 5, [40.0, 40.0]),  # exactly fits
        ([10, 50, 60], 70, 5, [10.0, 30.0, 30.0]),  # too wide: the narrow keeps, wide ones share
        ([1, 1], 80, 5, [40.0, 40.0]),  # raised to the minimum, then grown
        ([100], 50, 5, [50.0]),  # one column: bounded by the table
        ([300, 10], 100, 5, [250 / 3, 50 / 3]),  # bounded to half the table (50), then 50:10 grown to 100
        ([300, 80, 20], 100, 5, [40.0, 40.0, 20.0]),  # 50 + 80 + 20 > 100: water filling at 40
        ([], 100, 5, []),
    ],
)
def test_fit_column_widths(wanted, available, minimum, expected):
    assert fit_column_widths(wanted, available, minimum) == pytest.approx(expected)


def test_fit_column_widths_too_many_columns_names_the_count():
    with pytest.raises(ValueError, match="30 columns do not fit"):
        fit_column_widths([10] * 30, 100, 5)


@pytest.mark.parametrize(
    ("size", "landscape", "expected"),
    [
        ("A4", True, A4_LANDSCAPE),
        ("a4", False, (A4_LANDSCAPE[1], A4_LANDSCAPE[0])),
        ("letter", True, (792.0, 612.0)),
        ("Letter", False, (612.0, 792.0)),
        ((300, 200), False, (200.0, 300.0)),
    ],
)
def test_resolve_page_size(size, landscape, expected):
    assert resolve_page_size(size, landscape) == pytest.approx(expected)


@pytest.mark.parametrize("size", ["A3", (10, 10), "x", None])
def test_resolve_page_size_rejects(size):
    with pytest.raises(ValueError, match="page_size"):
        resolve_page_size(size, True)


@pytest.mark.parametrize(
    ("rows_per_page", "expected"),
    [
        (50, 6.0),  # (50+1) rows * 1.7 * 6 = 520.2 <= 595.28 - 48 - 13.5 - 12 = 521.78
        (20, 10.0),  # capped at 10 pt
        (1000, 5.0),  # nothing fits: the smallest size (rows continue on more pages)
    ],
)
def test_auto_font_size_a4_landscape(rows_per_page, expected):
    assert auto_font_size(*A4_LANDSCAPE, rows_per_page) == expected


def test_numeric_min_width_is_seven_digits_plus_padding(font):
    g = page_geometry(*A4_LANDSCAPE, 6.0, 50)
    assert numeric_min_width(g, FontMetrics(font, 6.0)) == pytest.approx(7 * 3.59765625 + 2 * 2.4)  # 29.98359375
