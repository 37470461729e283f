"""One PDF file being written: its pages as content streams, each on disk as soon as it is done.

No platypus: cells (:mod:`~airflow_export.writers.pdf.cells`) are drawn as text operators
straight into the page's content stream; each finished page is compressed and written to the
file at once by the :class:`~airflow_export.writers.pdf.document.StreamingPdfDocument`, and the
``Page N of M`` footer is a second stream it writes at close, once ``M`` is known. Why and how
fast: docs/adr/0005-pdf-content-streams.md, docs/adr/0040-pdf-pages-stream-to-disk.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from airflow_export.writers.pdf.cells import CellDrawer, baseline_mark, fmt
from airflow_export.writers.pdf.document import StreamingPdfDocument
from airflow_export.writers.pdf.table import Table
from airflow_export.writers.pdf.text import wrap_text

_MARK0 = baseline_mark(0)
_HEADER_GRAY = "0.85 g"
_STRIPE_GRAY = "0.95 g"
_RULE = "0.3 w 0.6 G"


class PdfFile:
    """One PDF file being written: its streaming document, its page state and its cells.

    :param table: the export's table (layout, fonts).
    :param fh: the file's binary handle (the series' temporary file), at its start.
    :param title: the title of every page and of the document.
    """

    def __init__(self, table: Table, fh: Any, title: str) -> None:
        self.table = t = table
        g = t.geometry
        self.doc: StreamingPdfDocument | None = StreamingPdfDocument(
            fh, (g.width, g.height), t.fonts, title=title, footer=self._footer
        )
        self.cells = CellDrawer(t, self.doc)
        self.font0 = self.cells.font0
        self.size_str = self.cells.size_str
        self.show = self.doc.show
        self.pages = 0
        self.records = 0
        self._header_ops = [self._make_header_ops(group) for group in t.groups]
        self._title_ops = self._make_title_ops(title)
        self._start_page()

    def _make_header_ops(self, group: list[int]) -> str:
        """The header of the pages of one column group (``group``: its column indexes)."""
        t = self.table
        if not t.names:
            return ""
        g = t.geometry
        top = g.table_top
        right = t.group_rights[t.groups.index(group)]
        ops = [f"q {_HEADER_GRAY} {fmt(g.table_left)} {fmt(t.body_top)} {fmt(right - g.table_left)} "
               f"{fmt(t.header_height)} re f Q", "BT 2 Tr 0.15 w", f"{self.font0} {self.size_str} Tf"]
        for column in group:
            lines = t.header_lines[column]
            left = t.lefts[column]
            for k, line in enumerate(lines):
                if not line:
                    continue
                y = top - g.vpad - g.ascent - k * g.leading
                x = left + t.widths[column] - g.hpad - t.metrics.width(line) if t.numeric[column] else left + g.hpad
                ops.append(f"1 0 0 1 {fmt(x)} {fmt(y)} Tm {self.show(line, self.size_str)}")
        ops.append("0 Tr ET")
        return "\n".join(ops)

    def _make_title_ops(self, title: str) -> str:
        t = self.table
        g = t.geometry
        size = fmt(g.title_size)
        text = t.prepare(title, "title").replace("\n", " ")
        if t.title_metrics.width(text) > g.table_width:
            text = wrap_text(text, g.table_width - t.title_metrics.width("\u2026"), t.title_metrics)[0] + "\u2026"
        return (
            f"BT {self.font0} {size} Tf 1 0 0 1 {fmt(g.table_left)} {fmt(g.title_baseline)} Tm "
            f"{self.show(text, size)} ET"
        )

    # ------------------------------------------------------------------ pages

    def _start_page(self) -> None:
        self.ops: list[str] = []
        #: with column groups: the row operators of each group's page (``ops`` unused)
        self.group_ops: list[list[str]] = [[] for _ in self.table.groups] if len(self.table.groups) > 1 else []
        self.cursor_y = self.table.body_top
        self.row_bottoms: list[float] = []
        self.stripes: list[str] = []
        self.page_records = 0

    def add_rows(self, columns: list[Sequence[Any]], first_row: int) -> Iterator[int]:
        """Lay out rows given column-wise (``columns[j][i]`` = row i, column j), from the current
        position; yields after each page it finishes.

        Per row: the cells' cached operators are joined and the baseline placeholders replaced
        by the row's y (C-level ``str.join``/``str.replace``, no per-cell Python work).
        """
        t = self.table
        g = t.geometry
        entries = [self.cells.entries(j, values, first_row) for j, values in enumerate(columns)]
        ops_by_column = []
        lines_by_column = []
        for column_entries in entries:
            ops, lines = zip(*column_entries, strict=False)
            ops_by_column.append(ops)
            lines_by_column.append(lines)
        del entries
        row_lines = list(map(max, *lines_by_column)) if len(lines_by_column) > 1 else list(lines_by_column[0])
        leading = g.leading
        first_offset = g.vpad + g.ascent
        one_line = g.row_height(1)
        bottom = g.table_bottom - 1e-6
        stripe_prefix = f"{fmt(g.table_left)} "
        stripe_suffix = f" {fmt(t.right - g.table_left)} "
        append = self.ops.append
        stripes = self.stripes
        row_bottoms = self.row_bottoms
        join = "".join
        for row, lines in zip(zip(*ops_by_column, strict=False), row_lines, strict=False):
            height = one_line if lines <= 1 else g.row_height(lines)
            y = self.cursor_y
            if y - height < bottom and self.page_records:
                self.finish_page()
                yield self.records
                append = self.ops.append
                stripes = self.stripes
                row_bottoms = self.row_bottoms
                y = self.cursor_y
            if self.page_records & 1:
                stripes.append(f"{stripe_prefix}{y - height:.2f}{stripe_suffix}{height:.2f} re")
            if self.group_ops:
                self._add_group_row(row, y - first_offset, lines)
            elif lines <= 1:
                append(join(row).replace(_MARK0, f"{y - first_offset:.2f}"))
            else:
                text = join(row)
                for k in range(lines):
                    text = text.replace(baseline_mark(k), f"{y - first_offset - k * leading:.2f}")
                append(text)
            y -= height
            self.cursor_y = y
            row_bottoms.append(y)
            self.page_records += 1
            self.records += 1

    def _add_group_row(self, row: Sequence[str], baseline: float, lines: int) -> None:
        """Add one row's cells to each column group's page (with column groups)."""
        leading = self.table.geometry.leading
        for group, ops in zip(self.table.groups, self.group_ops, strict=True):
            text = "".join([row[column] for column in group])
            for k in range(max(lines, 1)):
                text = text.replace(baseline_mark(k), f"{baseline - k * leading:.2f}")
            ops.append(text)

    def finish_page(self, empty_message: str | None = None) -> None:
        """End the rows of a page: one page per column group (across, then down)."""
        for group in range(len(self.table.groups)):
            self._finish_group_page(group, empty_message)
        self._start_page()

    def _finish_group_page(self, group: int, empty_message: str | None) -> None:
        """Draw the grid, header and title of column group ``group`` around the page's rows, end
        the page and compress its content stream at once."""
        t = self.table
        g = t.geometry
        left = g.table_left
        right = t.group_rights[group]
        top = g.table_top
        parts = []
        if self.stripes:
            # The stripes span the first group's width; another group's page scales them to its own.
            scale = (right - left) / (t.right - left) if group else 1.0
            cm = f"{scale:.6f} 0 0 1 {left * (1 - scale):.4f} 0 cm " if group else ""
            parts.append(f"q {_STRIPE_GRAY} {cm}" + " ".join(self.stripes) + " f Q")
        parts.append(self._header_ops[group])
        lowest = self.row_bottoms[-1] if self.row_bottoms else t.body_top
        if empty_message is not None:
            lowest = t.body_top - g.row_height(1)
        if t.names:
            rules = [f"q {_RULE} {fmt(left)} {fmt(lowest)} {fmt(right - left)} {fmt(top - lowest)} re"]
            rules.append(f"{fmt(left)} {fmt(t.body_top)} m {fmt(right)} {fmt(t.body_top)} l")
            left_s = fmt(left)
            right_s = fmt(right)
            rules.extend(f"{left_s} {y:.2f} m {right_s} {y:.2f} l" for y in self.row_bottoms[:-1])
            for x in [t.lefts[column] for column in t.groups[group][1:]]:
                rules.append(f"{fmt(x)} {fmt(lowest)} m {fmt(x)} {fmt(top)} l")
            rules.append("S Q")
            parts.append(" ".join(rules))
        parts.append(f"BT {self.font0} {self.size_str} Tf")
        parts.append("".join(self.group_ops[group] if self.group_ops else self.ops))
        if empty_message is not None:
            y = t.body_top - g.vpad - g.ascent
            parts.append(f"1 0 0 1 {fmt(left + g.hpad)} {fmt(y)} Tm {self.show(empty_message, self.size_str)}")
        parts.append("ET")
        parts.append(self._title_ops)
        self.pages += 1
        assert self.doc is not None
        self.doc.add_page("\n".join(parts))

    def _footer(self, number: int, total: int) -> str:
        """The operators of page ``number``'s footer (``Page N of M``, right-aligned at the
        table's right edge); called by the document at close for every page."""
        t = self.table
        g = t.geometry
        size = fmt(g.footer_size)
        baseline = fmt(g.footer_baseline)
        measure = t.footer_metrics.width
        right = t.group_rights[(number - 1) % len(t.groups)] if t.names else g.table_left + g.table_width
        left_text, text = t.footer(number, total, self.records)
        # never over the left text (a table narrower than the page, by explicit column_widths)
        right = min(max(right, g.table_left + measure(left_text) + g.footer_size + measure(text)),
                    g.table_left + g.table_width)
        return (
            f"BT {self.font0} {size} Tf 1 0 0 1 {fmt(g.table_left)} {baseline} Tm {self.show(left_text, size)} "
            f"1 0 0 1 {fmt(right - measure(text))} {baseline} Tm {self.show(text, size)} ET\n"
        )

    def close(self) -> None:
        """Finish the last page (or the "No rows" page), then write the footers, fonts and
        cross-reference table (the series then fsyncs and closes the file)."""
        if self.page_records or self.pages == 0:
            self.finish_page(empty_message=None if self.page_records else "No rows")
        assert self.doc is not None
        self.doc.close()
        # Nothing of the written document is kept: the document and the cell caches go.
        self.doc = None
        self.cells.release()
        self.ops = []
