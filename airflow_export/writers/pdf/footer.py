"""What the footer of a PDF page says (its text only; :mod:`~airflow_export.writers.pdf.page`
draws it): the caption, the row count, the run's time, the column group and ``Page N of M``.

Nothing here reads a clock: the time is the caller's (the operator passes its DAG run's logical
date), so the same run writes the same bytes. Rules: docs/formats.md ("PDF options": ``caption``,
``run_time``); why: docs/adr/0073-pdf-footer-and-truncation-log.md.
"""

from __future__ import annotations

import datetime as dt

#: Between the parts of the footer's left text.
SEPARATOR = " \u00b7 "


def format_run_time(value: dt.datetime | dt.date | str | None) -> str | None:
    """The footer's form of a run time: an aware datetime in UTC as ``2024-05-01 06:00 UTC``,
    a naive one as ``2024-05-01 06:00``, a date as ``2024-05-01``, a str as given.

    :raises TypeError: any other type (names ``run_time``).
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"run_time must be a datetime, a date, a str or None, got {type(value).__name__}")


def footer_texts(
    number: int,
    total: int,
    *,
    rows: int,
    groups: list[list[int]],
    columns: int,
    caption: str | None = None,
    run_time: str | None = None,
) -> tuple[str, str]:
    """The (left, right) texts of the footer of page ``number`` of ``total``.

    Left: ``caption · 1,000 rows · run 2024-05-01 06:00 UTC`` (caption and time if given).
    Right: ``Page N of M``; with column groups (pages go across, then down, so page ``N`` shows
    group ``(N - 1) % len(groups) + 1``) ``Columns 13-24 of 40 (group 2 of 4) · Page N of M``
    (the repeated key columns not counted).

    ``footer_texts(2, 4, rows=10, groups=[[0, 1, 2], [0, 3]], columns=4)`` ->
    ``("10 rows", "Columns 4–4 of 4 (group 2 of 2) · Page 2 of 4")``.
    """
    left = SEPARATOR.join(
        part for part in (caption, f"{rows:,} row{'' if rows == 1 else 's'}",
                          f"run {run_time}" if run_time else None) if part
    )
    right = f"Page {number} of {total}"
    if len(groups) > 1:
        index = (number - 1) % len(groups)
        keys = len(set(groups[0]).intersection(*groups[1:]))
        own = groups[index][keys:]
        right = (f"Columns {own[0] + 1}\u2013{own[-1] + 1} of {columns} (group {index + 1} of {len(groups)})"
                 f"{SEPARATOR}{right}")
    return left, right
