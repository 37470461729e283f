"""Streaming PDF export: rows -> a paginated table, one page of rows in memory at a time.

:func:`write_pdf` fits the columns once (:class:`~airflow_export.writers.pdf.table.Table`),
draws each page as a content stream (:class:`~airflow_export.writers.pdf.page.PdfFile`) and
writes the files through the writer frame's :class:`~airflow_export.writers.frame.FileSeries`
(atomic temporary files, rolling, result); each page goes to the file as soon as it is full
(:class:`~airflow_export.writers.pdf.document.StreamingPdfDocument`), so memory does not grow
with the file. Every page: the title, the header, up to ``rows_per_page`` rows and
``Page N of M``. The same input gives byte-identical files. Format and options:
docs/formats.md ("PDF"); why content streams and streaming pages: docs/adr/0005, 0040-0043.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from airflow_export.writers.encoding import PDF_TEXT, UnencodableTextError, locate, lone_surrogate
from airflow_export.writers.frame import ExportResult, FileRenderer, FileSeries, check_positive_int
from airflow_export.writers.pdf.fonts import FontMetrics, FontSet, find_fallback_font_path, find_font_path, load_font
from airflow_export.writers.pdf.footer import format_run_time
from airflow_export.writers.pdf.layout import AUTO_FONT_SIZE_RANGE, PageGeometry, page_geometry, resolve_page_size
from airflow_export.writers.pdf.options import DEFAULT_MAX_ROWS_PER_FILE, SEARCH_FALLBACK, PdfOptions
from airflow_export.writers.pdf.page import PdfFile
from airflow_export.writers.pdf.table import Table
from airflow_export.writers.rows import iter_batches

__all__ = ["DEFAULT_MAX_ROWS_PER_FILE", "PdfOptions", "write_pdf"]

logger = logging.getLogger("airflow_export")


class PdfFiles(FileRenderer):
    """The PDF files of one export: a :class:`PdfFile` per file of the series, fed batch by batch.

    :param title: the title of every page.
    :param progress: ``progress(records_so_far)`` after every page and file, or None.
    """

    def __init__(self, title: str, progress: Callable[[int], Any] | None) -> None:
        self.table: Table | None = None  # set once the first batch is read
        self.title = title
        self.progress = progress
        self.series: FileSeries | None = None
        self.file: PdfFile | None = None

    def begin_file(self, fh: BinaryIO) -> int:
        assert self.table is not None
        self.file = PdfFile(self.table, fh, self.title)
        return 0

    def end_file(self) -> None:
        """Save the current file (the series then fsyncs and closes it); nothing of it stays in memory."""
        assert self.file is not None
        self.file.close()
        self.file = None

    def file_closed(self, records_so_far: int) -> None:
        if self.progress is not None:
            self.progress(records_so_far)

    def discard_file(self) -> None:
        self.file = None

    def add_batch(self, batch: list[Sequence[Any]]) -> None:
        """Lay out one batch (a page's worth) of rows; it starts on a new page."""
        series = self.series
        assert series is not None
        start, total = 0, len(batch)
        while start < total:
            room = series.room()  # opens the first file, or the next when this one is full
            current = self.file
            assert current is not None
            if current.page_records:
                current.finish_page()
                self._report()
            take = total - start if room is None else min(total - start, room)
            chunk = batch if take == total else batch[start : start + take]
            for _ in current.add_rows(list(zip(*chunk, strict=False)), series.written + 1):
                self._report()
            series.add(take)
            start += take

    def _report(self) -> None:
        if self.progress is not None and self.series is not None and self.file is not None:
            self.progress(self.series.done_records + self.file.records - self.file.page_records)


def _fonts(opts: PdfOptions) -> FontSet:
    """The main font and the fallback font (loaded now when given explicitly: an unusable file fails here)."""
    font = load_font(find_font_path(opts.font_path), opts.font_index)
    if opts.fallback_font_path is None:
        return FontSet(font, None)
    explicit = None if opts.fallback_font_path is SEARCH_FALLBACK else opts.fallback_font_path
    fonts = FontSet(font, find_fallback_font_path(explicit), fallback_required=explicit is not None)
    if explicit is not None:
        fonts.load_fallback()
    return fonts


def _log_missing(path: str, fonts: FontSet) -> None:
    summary = fonts.missing_summary()
    if summary is not None:
        logger.warning(
            "PDF %s: the fonts (%s%s) have no glyph for %s; they show as empty boxes",
            path,
            os.path.basename(fonts.font.face.filename),
            f", fallback {os.path.basename(fonts.fallback_path or '')}" if fonts.fallback is not None
            else ", no fallback font",
            summary,
        )


def _table(names: list[str], first_batch: list[Sequence[Any]] | None, geometries: list[PageGeometry],
           fonts: FontSet, opts: PdfOptions, rows_per_page: int) -> Table:
    """The export's table on the first of ``geometries`` (portrait, landscape) where its
    columns fit at their natural widths, else on the last one. With the automatic font size,
    a header of several lines takes the room of that many rows: the size goes down (0.25 pt
    steps, not below :data:`~airflow_export.writers.pdf.layout.AUTO_FONT_SIZE_RANGE`'s
    smallest) until ``rows_per_page`` one-line rows fit under it."""
    font = fonts.font
    run_time = format_run_time(opts.run_time)

    def build(geometry: PageGeometry) -> Table:
        return Table(
            names, first_batch, geometry, FontMetrics(font, geometry.font_size, fonts),
            FontMetrics(font, geometry.footer_size, fonts), FontMetrics(font, geometry.title_size, fonts),
            opts.column_widths, opts.max_lines_per_cell, opts.null_marker, geometry.width > geometry.height,
            opts.key_columns, opts.caption, run_time,
        )

    for geometry in geometries:
        table = build(geometry)
        if sum(m.wanted for m in table.measures) <= geometry.table_width + 1e-6:
            break
    g = table.geometry
    while opts.font_size is None and g.font_size > AUTO_FONT_SIZE_RANGE[0] and (
        (table.body_top - g.table_bottom) < rows_per_page * g.row_height(1) - 1e-6
    ):
        g = page_geometry(g.width, g.height, g.font_size - 0.25, rows_per_page)
        table = build(g)
    return table


def write_pdf(
    rows: Iterable[Sequence[Any]] | Iterable[Mapping[Any, Any]],
    path: str | os.PathLike,
    *,
    columns: Sequence[Any] | None = None,
    title: str | None = None,
    rows_per_page: int = 50,
    confine_to: str | os.PathLike[str] | None = None,
    **options: Any,
) -> ExportResult:
    """Write rows as a paginated PDF table, streaming (one page of rows in memory at a time).

    The layout (widths fixed from the header and the first page, wrapping, shrinking,
    truncation, fonts and fallback) and every option: docs/formats.md, "PDF". Cell text is
    :func:`airflow_export.writers.values.format_value`'s form. An export with no rows is one
    page saying ``No rows`` under the header (if the columns are known). Characters no font
    has are logged in one warning per export.

    :param rows: sequence rows or mapping rows (see :func:`airflow_export.writers.rows.iter_batches`).
    :param path: target file, e.g. ``/data/flights.pdf``.
    :param columns: column names (default: from the rows, see ``iter_batches``).
    :param title: printed at the top of every page and stored as the PDF title;
        default: the file name without its suffix.
    :param rows_per_page: most rows on one page, >= 1.
    :param confine_to: the export root, or None: the target's directory, as opened (after
        every symlink), must lie inside it.
    :param options: keyword options, see :class:`~airflow_export.writers.pdf.options.PdfOptions`.
    :returns: :class:`~airflow_export.writers.frame.ExportResult` with ``format="pdf"``;
        ``path`` is the first file. Files: ``path`` while the export fits in one file
        (``max_rows_per_file``, default None: no limit), else every file is a part
        ``NAME.part-00001.pdf`` ...; one file is open at a time.
    :raises TypeError: an unknown option (named, with the closest valid name); ``progress``
        not callable; ``title`` not a str; an unrenderable value (row and column named,
        :class:`~airflow_export.writers.values.UnrenderableValueError`); bad rows.
    :raises ValueError: ``rows_per_page`` < 1 (named); bad option values (named); a row with the
        wrong number of fields (row named); a lone UTF-16 surrogate in a text (row and column,
        header or title named, :class:`~airflow_export.writers.encoding.UnencodableTextError`);
        columns that cannot fit across the page (saying the page width they need and a
        ``page_size``/``font_size`` that fits); a font file that cannot be embedded
        (``font_path``/``fallback_font_path`` named).
    :raises airflow_export.writers.pdf.fonts.FontNotFoundError: no Unicode TrueType font
        (names the package ``fonts-wqy-zenhei``); an explicit ``fallback_font_path`` that does
        not exist.
    :raises airflow_export.writers.frame.OutputError: the target exists and ``overwrite`` is
        False (before any row is read), the directory is not writable, or it lies outside
        ``confine_to``.
    On any error no file is left at the target path(s) and earlier files there are untouched.
    """
    check_positive_int("rows_per_page", rows_per_page)
    opts = PdfOptions.from_kwargs(**options)
    geometries = [page_geometry(*resolve_page_size(opts.page_size, landscape), opts.font_size, rows_per_page)
                  for landscape in ((False, True) if opts.landscape is None else (opts.landscape,))]
    fonts = _fonts(opts)
    if title is None:
        title = Path(path).name.split(".")[0] or Path(path).name
    elif not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    files = PdfFiles(title, opts.progress)
    table: Table | None = None
    try:
        # The output first: overwrite=False and an unusable target fail before any row is read.
        with FileSeries(path, "pdf", files, overwrite=opts.overwrite, max_rows_per_file=opts.max_rows_per_file,
                        confine_to=confine_to) as series:
            files.series = series
            names, batches = iter_batches(rows, columns, batch_size=rows_per_page)
            first_batch = next(batches, None)
            if first_batch is not None and not names:
                raise ValueError("row 1: a row has no fields; there is no column to print")
            batch, first_row = first_batch, 1  # the rows being drawn, to name a cell's row in an error
            try:
                files.table = table = _table(names, first_batch, geometries, fonts, opts, rows_per_page)
                if batch is not None:
                    del first_batch
                    files.add_batch(batch)
                    for batch in batches:
                        first_row = series.written + 1
                        files.add_batch(batch)
            except UnencodableTextError as exc:  # a cell's text: name its row, as the CSV writer does
                if exc.row is not None or batch is None or exc.where in ("header", "title"):
                    raise
                raise (locate(batch, names, first_row, opts.null_marker, lone_surrogate, PDF_TEXT) or exc) from None
            return series.finish()
    finally:
        _log_missing(os.fspath(path), fonts)
        if table is not None and (cut := table.truncation.message()) is not None:
            logger.warning("PDF %s: %s", os.fspath(path), cut)
