"""What one column of a PDF table needs, measured from its header and a sample of its values.

The sample is the first batch of rows (one page, ``rows_per_page`` rows): the widths are fixed
before any row is drawn, so memory stays bounded whatever the export's size. Rules:
docs/formats.md ("PDF layout"); why: docs/adr/0070-pdf-widths-from-content.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_export.writers.pdf.fonts import FontMetrics
from airflow_export.writers.pdf.layout import PageGeometry, min_column_width, numeric_min_width
from airflow_export.writers.pdf.text import fit_font_size, header_word_width

#: A number whose decimal point can be aligned: optional sign, digits, optional fraction.
_PLAIN_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True)
class ColumnMeasure:
    """One column's widths (points, padding included) and, for a numeric column, its drawing.

    :param minimum: narrowest width: every header word whole, every sampled number on one line.
    :param wanted: natural width: the whole header or the widest sampled line, whichever is wider.
    :param numeric: every sampled value is a number (drawn right-aligned, never wrapped).
    :param widest_number: width of the widest sampled number at the body size, its integer
        part and :attr:`fraction` room if the points are aligned (0 if none).
    :param fraction: width of the widest sampled fraction (``".25"``) at the body size, or 0:
        the room kept right of the decimal point so the points line up (plain decimals only).
    """

    minimum: float
    wanted: float
    numeric: bool
    widest_number: float = 0.0
    fraction: float = 0.0


def measure_column(header: str, texts: list[str], numeric: bool, geometry: PageGeometry,
                   metrics: FontMetrics) -> ColumnMeasure:
    """Measure one column (``header`` and ``texts`` already cleaned, see ``Table.prepare``).

    ``texts`` are the sampled values' texts in first-seen order, duplicates removed.
    """
    width = metrics.width
    pad = 2 * geometry.hpad
    widest = max((width(line) for line in header.split("\n")), default=0.0)
    minimum = max(header_word_width(header, metrics) + pad, min_column_width(geometry))
    if not numeric:
        for text in texts:
            for line in text.split("\n"):
                widest = max(widest, width(line))
        return ColumnMeasure(minimum, widest + pad, False)
    whole = fraction = 0.0
    plain = True
    widest_number = 0.0
    for text in texts:
        w = width(text)
        widest_number = max(widest_number, w)
        if plain and _PLAIN_DECIMAL.fullmatch(text):
            point = text.find(".")
            f = width(text[point:]) if point >= 0 else 0.0
            fraction = max(fraction, f)
            whole = max(whole, w - f)
        else:
            plain = False
    aligned = whole + fraction if plain else widest_number
    minimum = max(minimum, aligned + pad)
    wanted = max(widest, aligned + pad, numeric_min_width(geometry, metrics))
    return ColumnMeasure(minimum, wanted, True, aligned, fraction if plain else 0.0)


def numeric_size(measure: ColumnMeasure, inner: float, size: float) -> float:
    """The one font size of a numeric column: the body ``size``, or smaller if the widest
    sampled number (decimal room included) does not fit ``inner`` (an explicit narrow
    ``column_widths``): the whole column shrinks, not each cell."""
    if not measure.numeric or measure.widest_number <= inner:
        return size
    return fit_font_size(measure.widest_number, size, inner) or size
