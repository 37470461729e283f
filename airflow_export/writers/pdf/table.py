"""The table of one PDF export: columns, their widths (fitted once), fonts and limits,
shared by every file of the export."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from airflow_export.writers.encoding import PDF_TEXT, UnencodableTextError, lone_surrogate
from airflow_export.writers.pdf.columns import measure_column, numeric_size
from airflow_export.writers.pdf.fonts import FontMetrics, FontSet
from airflow_export.writers.pdf.footer import footer_texts
from airflow_export.writers.pdf.layout import (
    HPAD_FACTOR,
    MARGIN,
    MAX_COLUMN_FRACTION,
    MAX_HEADER_LINES,
    MIN_COLUMN_EMS,
    MIN_SHRINK_FONT_SIZE,
    PageGeometry,
    column_groups,
    fit_column_widths,
    fit_widths,
    min_column_width,
    numeric_min_width,
)
from airflow_export.writers.pdf.text import TruncationLog, clean_text, truncate_lines, wrap_header, wrap_text
from airflow_export.writers.values import format_column

#: The key columns repeated on every column group take at most this fraction of the width.
MAX_KEY_FRACTION = 0.3
#: When the columns are split into groups, a column counts this many font sizes wide at most
#: when packing the groups (its natural width if narrower); long text then wraps.
COMFORTABLE_EMS = 12.0


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
        key_columns: int = 1,
        caption: str | None = None,
        run_time: str | None = None,
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
        self.caption = caption
        self.run_time = run_time
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
        self.measures = [
            measure_column(self.prepare(name, "header"),
                           [self.prepare(text, place) for text in dict.fromkeys(sample)],  # first-seen order
                           numeric, g, metrics)
            for name, sample, numeric, place in zip(names, samples, self.numeric, self.places, strict=True)
        ]
        #: the column groups printed one after another ("page across, then down"), each a list
        #: of column indexes starting with the key columns; one group if the table fits
        self.groups: list[list[int]] = [list(range(len(names)))]
        self.widths = self._widths(names, column_widths, key_columns)
        self.lefts = [0.0] * len(names)
        #: the right edge of each group's table
        self.group_rights: list[float] = []
        for group in self.groups:
            x = g.table_left
            for column in group:
                self.lefts[column] = x
                x += self.widths[column]
            self.group_rights.append(x)
        self.right = self.group_rights[0]
        self.inner = [w - 2 * hpad for w in self.widths]
        #: the one font size of each numeric column (the body size for text columns)
        self.sizes = [numeric_size(m, inner, g.font_size)
                      for m, inner in zip(self.measures, self.inner, strict=True)]
        #: what :meth:`~airflow_export.writers.pdf.cells.CellDrawer.cell` cut (one log warning per export)
        self.truncation = TruncationLog()
        self.header_lines = []
        for name, inner in zip(names, self.inner, strict=False):
            text = self.prepare(name, "header")
            self.header_lines.append(
                truncate_lines(wrap_header(text, inner, metrics), MAX_HEADER_LINES,
                               partial(wrap_text, max_width=inner, metrics=metrics))
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

    def footer(self, number: int, total: int, rows: int) -> tuple[str, str]:
        """The (left, right) footer texts of page ``number`` of ``total`` of a file of ``rows``
        rows (:func:`~airflow_export.writers.pdf.footer.footer_texts`), ready to draw."""
        left, right = footer_texts(number, total, rows=rows, groups=self.groups, columns=len(self.names),
                                   caption=self.caption, run_time=self.run_time)
        return self.prepare(left, "footer").replace("\n", " "), right

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
        column_widths: Sequence[float | None] | Mapping[str, float] | None,
        key_columns: int,
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
                    [self.measures[i].wanted for i in free], available - fixed, minimum
                )
                for i, w in zip(free, auto, strict=False):
                    given[i] = w
            return [float(w) for w in given if w is not None]  # every None was filled in above
        measures = self.measures
        # A number wider than half the table (a 100-digit integer) shrinks or wraps instead.
        widest = available * MAX_COLUMN_FRACTION if len(names) > 1 else available
        minimums = [min(m.minimum, max(widest, minimum)) for m in measures]
        wanted = [m.wanted for m in measures]
        if sum(minimums) <= available + 1e-6:
            return fit_widths(minimums, wanted, available)
        keys = min(key_columns, len(names) - 1)
        # The key columns keep one width in every group (their cells are drawn once per file).
        widths = [max(m, min(w, available * MAX_KEY_FRACTION / keys))
                  for m, w in zip(minimums[:keys], wanted, strict=False)]
        # Groups are packed at a comfortable width (natural, up to COMFORTABLE_EMS for long text):
        # a group of squeezed columns would only wrap every cell.
        comfortable = [max(m, min(w, COMFORTABLE_EMS * g.font_size + 2 * g.hpad))
                       for m, w in zip(minimums[keys:], wanted[keys:], strict=True)]
        self.groups = column_groups(widths + comfortable, available, keys)
        room = available - sum(widths)
        widths += [0.0] * (len(names) - keys)
        for group in self.groups:
            rest = group[keys:]
            for column, w in zip(rest, fit_widths([minimums[c] for c in rest], [wanted[c] for c in rest], room),
                                 strict=True):
                widths[column] = w
        return widths

    @staticmethod
    def _is_numeric(values: Iterable[Any]) -> bool:
        types = set(map(type, values))
        types.discard(type(None))
        return bool(types) and all(issubclass(t, numbers.Number) and not issubclass(t, bool) for t in types)

