"""The table of one PDF export: columns, their widths (fitted once), fonts and limits,
shared by every file of the export."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from airflow_export.writers.encoding import PDF_TEXT, UnencodableTextError, lone_surrogate
from airflow_export.writers.pdf.fonts import FontMetrics, FontSet
from airflow_export.writers.pdf.layout import (
    HPAD_FACTOR,
    MARGIN,
    MAX_HEADER_LINES,
    MIN_COLUMN_EMS,
    MIN_SHRINK_FONT_SIZE,
    PageGeometry,
    fit_column_widths,
    min_column_width,
    numeric_min_width,
)
from airflow_export.writers.pdf.text import clean_text, truncate_lines, wrap_text
from airflow_export.writers.values import format_column


def _wrap_header(text: str, width: float, metrics: FontMetrics) -> list[str]:
    return wrap_text(text, width, metrics)


class Table:
    """What every file of one export shares: geometry, columns, widths, fonts, limits."""

    def __init__(
        self,
        names: list[str],
        first_batch: list[Sequence[Any]] | None,
        geometry: PageGeometry,
        metrics: FontMetrics,
        footer_metrics: FontMetrics,
        title_metrics: FontMetrics,
        column_widths: Sequence[float | None] | Mapping[str, float] | None,
        max_lines_per_cell: int | None,
        null_marker: str,
        landscape: bool = True,
    ) -> None:
        self.names = names
        #: how the missing-glyph warning names each column
        self.places = [f"column {name!r}" for name in names]
        self.geometry = geometry
        self.landscape = landscape
        #: the font set of the export (main font, fallback font, missing characters)
        self.fonts: FontSet = metrics.fonts if metrics.fonts is not None else FontSet(metrics.font, None)
        self.metrics = metrics
        self.footer_metrics = footer_metrics
        self.title_metrics = title_metrics
        self.null_marker = null_marker
        #: what control characters print as (see :func:`clean_text`)
        self.replacement = "\ufffd" if 0xFFFD in metrics.font.face.charToGlyph else "\u25a1"
        g = geometry
        hpad = g.hpad
        samples = (
            [format_column(list(col), null_marker=null_marker, column=name)
             for col, name in zip(zip(*first_batch, strict=False), names, strict=False)]
            if first_batch
            else [[] for _ in names]
        )
        first_columns = zip(*first_batch, strict=False) if first_batch else [() for _ in names]
        self.numeric = [self._is_numeric(col) for col in first_columns]
        self.numeric_min = numeric_min_width(g, metrics)
        self.widths = self._widths(names, samples, column_widths)
        lefts = []
        x = g.table_left
        for w in self.widths:
            lefts.append(x)
            x += w
        self.lefts = lefts
        self.right = x
        self.inner = [w - 2 * hpad for w in self.widths]
        self.header_lines = []
        for name, inner in zip(names, self.inner, strict=False):
            text = self.prepare(name, "header")
            lines = wrap_text(text, inner, metrics) if ("\n" in text or metrics.width(text) > inner) else [text]
            self.header_lines.append(
                truncate_lines(lines, MAX_HEADER_LINES, partial(_wrap_header, width=inner, metrics=metrics))
            )
        header_count = max((len(lines) for lines in self.header_lines), default=1)
        self.header_height = g.row_height(header_count) if names else 0.0
        self.body_top = g.table_top - self.header_height
        room = self.body_top - g.table_bottom - 2 * g.vpad
        cap = int(room // g.leading + 1e-9)
        if cap < 1:
            raise ValueError(
                f"font_size {g.font_size:g}: not even one line of a row fits below the header on the page"
            )
        if max_lines_per_cell is not None:
            cap = min(cap, max_lines_per_cell)
        self.max_lines = cap

    def prepare(self, text: str, place: str) -> str:
        """``text`` ready to measure and draw (:func:`~airflow_export.writers.pdf.layout.clean_text`:
        NFC, newlines, control characters), its characters checked against the fonts (see
        :meth:`~airflow_export.writers.pdf.fonts.FontSet.check`; ``place`` says where it is
        drawn: ``"column 'name'"``, ``"header"`` or ``"title"``). Every text is prepared before it is
        measured, so a fallback font is loaded
        before any of its characters is measured."""
        cleaned = clean_text(text, self.replacement)
        if not (cleaned.isascii() and self.metrics.has_all_ascii):
            if not cleaned.isprintable() and (char := lone_surrogate(cleaned)) is not None:
                raise UnencodableTextError(place, char, PDF_TEXT)  # docs/adr/0051; write_pdf names the row
            self.fonts.check(cleaned, place)
        return cleaned

    def _too_many_columns(self, count: int) -> ValueError:
        """The error for ``count`` columns that cannot fit even at their narrowest
        (:func:`~airflow_export.writers.pdf.layout.min_column_width`, 2 em + padding = 2.8 x
        the font size), saying what would fit: the page width needed, a larger ``page_size``,
        ``landscape=True`` if the page is portrait and that is enough, the largest
        ``font_size`` (0.25 pt steps, >= 3 pt) that fits this page."""
        g = self.geometry
        per_column = min_column_width(g)
        need = count * per_column + 2 * MARGIN
        per_point = 2 * HPAD_FACTOR + MIN_COLUMN_EMS  # a column's minimum width per point of font size
        wide = math.ceil(need - 1e-9)
        high = round(g.height)
        fixes = []
        if not self.landscape and max(g.width, g.height) >= need:
            fixes.append("landscape=True")
        orientation = f", landscape={wide >= high}" if (wide >= high) != self.landscape else ""
        fixes.append(f"page_size=({wide}, {high}){orientation}")
        largest = math.floor(g.table_width / (count * per_point) * 4 + 1e-9) / 4
        if MIN_SHRINK_FONT_SIZE <= largest < g.font_size:
            fixes.append(f"font_size={largest:g} (fits this page)")
        elif g.font_size > MIN_SHRINK_FONT_SIZE:
            smallest = count * per_point * MIN_SHRINK_FONT_SIZE + 2 * MARGIN
            fixes.append(f"font_size={MIN_SHRINK_FONT_SIZE:g} (needs a page {smallest:,.1f} pt wide)")
        fixes.append("fewer columns")
        return ValueError(
            f"{count} columns do not fit across the page: at font_size {g.font_size:g} each column needs at least "
            f"{per_column:.1f} pt (2 em + padding), so the page must be at least {need:,.1f} pt wide "
            f"(with the {MARGIN:g} pt margins) and it is {g.width:,.1f} pt; use {', '.join(fixes[:-1])} or {fixes[-1]}"
        )

    def _widths(
        self,
        names: list[str],
        samples: list[list[str]],
        column_widths: Sequence[float | None] | Mapping[str, float] | None,
    ) -> list[float]:
        g = self.geometry
        available = g.table_width
        minimum = min_column_width(g)
        if column_widths is not None:
            if isinstance(column_widths, Mapping):
                unknown = [k for k in column_widths if k not in names]
                if unknown:
                    shown = repr(names) if len(names) <= 20 else f"{names[:20]!r} ... ({len(names)} columns)"
                    raise ValueError(f"column_widths names unknown columns {unknown[:20]!r}; columns are {shown}")
                given = [column_widths.get(n) for n in names]
            else:
                given = list(column_widths)
                if len(given) != len(names):
                    raise ValueError(f"column_widths has {len(given)} widths for {len(names)} columns {names!r}")
            for name, w in zip(names, given, strict=False):
                if w is not None and (
                    isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < minimum
                ):
                    raise ValueError(
                        f"column_widths[{name!r}] must be a number of points >= {minimum:.1f}, got {w!r}"
                    )
            fixed = sum(w for w in given if w is not None)
            free = [i for i, w in enumerate(given) if w is None]
            if not fixed and len(free) * minimum > available + 1e-6:
                raise self._too_many_columns(len(free))
            if fixed + len(free) * minimum > available + 1e-6:
                raise ValueError(
                    f"column_widths add up to {fixed:.1f} pt (+{len(free)} automatic columns); "
                    f"the table is {available:.1f} pt wide"
                )
            if free:
                auto = fit_column_widths(
                    [self._wanted(names[i], samples[i], self.numeric[i]) for i in free], available - fixed, minimum
                )
                for i, w in zip(free, auto, strict=False):
                    given[i] = w
            return [float(w) for w in given if w is not None]  # every None was filled in above
        if len(names) * minimum > available + 1e-9:
            raise self._too_many_columns(len(names))
        return fit_column_widths(
            [self._wanted(n, s, numeric) for n, s, numeric in zip(names, samples, self.numeric, strict=False)],
            available,
            minimum,
        )

    def _wanted(self, name: str, sample: list[str], numeric: bool) -> float:
        """A column's natural width: its widest header or first-page text line plus padding; a
        numeric column at least :func:`~airflow_export.writers.pdf.layout.numeric_min_width`."""
        width = self.metrics.width
        widest = width(self.prepare(name, "header"))
        place = f"column {name!r}"
        for text in dict.fromkeys(sample):  # first-seen order: the missing-glyph log is deterministic
            for line in self.prepare(text, place).split("\n"):
                widest = max(widest, width(line))
        wanted = widest + 2 * self.geometry.hpad
        return max(wanted, self.numeric_min) if numeric else wanted

    @staticmethod
    def _is_numeric(values: Iterable[Any]) -> bool:
        types = set(map(type, values))
        types.discard(type(None))
        return bool(types) and all(issubclass(t, numbers.Number) and not issubclass(t, bool) for t in types)

