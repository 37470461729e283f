"""The options of :func:`~airflow_export.writers.pdf.write_pdf` (reference: docs/formats.md, "PDF options")."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_export.writers.frame import WriterOptions
from airflow_export.writers.pdf.footer import format_run_time

#: Default ``max_rows_per_file``: no limit, one file however long (pages go to disk as they
#: finish, so memory does not grow with the file: docs/adr/0042-pdf-one-file-by-default.md).
DEFAULT_MAX_ROWS_PER_FILE: int | None = None


class _SearchFallback:
    """The default of ``fallback_font_path``: look for one (``None`` means: no fallback font)."""

    def __repr__(self) -> str:
        return "SEARCH_FALLBACK"


#: ``fallback_font_path`` default: the first of the default fallback fonts found, if any.
SEARCH_FALLBACK: Any = _SearchFallback()


@dataclass(frozen=True)
class PdfOptions(WriterOptions):
    """The validated options of :func:`~airflow_export.writers.pdf.write_pdf` (keyword-only there).

    The shared options (``null_marker``, ``max_rows_per_file``, ``overwrite``, ``progress``)
    are :class:`~airflow_export.writers.frame.WriterOptions`'; ``max_rows_per_file`` defaults
    to :data:`DEFAULT_MAX_ROWS_PER_FILE` here. Each option's meaning: docs/formats.md.

    :param page_size: ``"A4"`` or ``"letter"`` (any case), or ``(width, height)`` in points
        (checked by :func:`~airflow_export.writers.pdf.layout.resolve_page_size`).
    :param landscape: True, False, or None (default: portrait if the columns fit it at their
        natural widths, else landscape).
    :param font_size: cell font size in points, or None (automatic, 5..10 pt).
    :param font_path: TrueType font file, or None (the default search list).
    :param font_index: index in a ``.ttc`` collection, an int >= 0.
    :param fallback_font_path: font for the characters the main font lacks; None: none;
        default :data:`SEARCH_FALLBACK` (DejaVu Sans if installed).
    :param column_widths: widths in points, a sequence or a mapping, or None (automatic).
    :param max_lines_per_cell: int >= 1, or None (as many as fit on a page).
    :param key_columns: how many first columns every column group repeats, an int >= 0
        (default 1; only when the columns are split into groups).
    :param caption: text at the left of every page's footer, or None.
    :param run_time: the run's time in the footer (a datetime, date or str), or None; never
        the wall clock (the operator passes its DAG run's logical date).
    :raises ValueError: a bad value, naming the option.
    :raises TypeError: ``progress`` is not callable.
    """

    writer: ClassVar[str] = "write_pdf"

    max_rows_per_file: int | None = DEFAULT_MAX_ROWS_PER_FILE
    page_size: str | Sequence[float] = "A4"
    landscape: bool | None = None
    font_size: float | None = None
    font_path: str | os.PathLike[str] | None = None
    font_index: int = 0
    fallback_font_path: str | os.PathLike[str] | None = SEARCH_FALLBACK
    column_widths: Sequence[float | None] | Mapping[str, float] | None = None
    max_lines_per_cell: int | None = None
    key_columns: int = 1
    caption: str | None = None
    run_time: dt.datetime | dt.date | str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.landscape is not None:
            self.check_bool("landscape")
        self.check_positive_int("key_columns", minimum=0)
        if self.caption is not None and not isinstance(self.caption, str):
            raise ValueError(f"caption must be a str or None, got {self.caption!r}")
        try:
            format_run_time(self.run_time)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        self.check_positive_int("font_index", minimum=0)
        self.check_positive_int("max_lines_per_cell", allow_none=True)
        fallback = self.fallback_font_path
        if fallback is not SEARCH_FALLBACK and fallback is not None and not isinstance(fallback, (str, os.PathLike)):
            raise ValueError(f"fallback_font_path must be a path or None, got {fallback!r}")
