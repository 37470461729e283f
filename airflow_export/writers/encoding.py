"""Text a file cannot hold: one policy for both writers (docs/adr/0051).

A lone UTF-16 surrogate (a code point in U+D800..U+DFFF that is not half of a pair: valid
JSON ``"\\ud83d"``, what a producer leaves when it cuts an emoji in two) is not a character.
No UTF encoding can write it and a PDF cannot show it. Both writers therefore fail with
:class:`UnencodableTextError` naming the row and column (or ``header`` / ``title``) and the
character; nothing is replaced, nothing is dropped, and no file is left at the target. The
CSV writer fails the same way for a character its ``encoding`` has no bytes for (``東`` in
``latin-1``). Where a cell is found is the same in both writers: the first cell, row by row,
whose text (:func:`~airflow_export.writers.values.format_value`) holds such a character.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from airflow_export.writers.values import format_value

#: What the PDF writer names as the target of its text.
PDF_TEXT = "PDF text"
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnencodableTextError(ValueError):
    """A text holds a character the output cannot hold.

    :param where: ``"row 3, column 'name'"``, ``"header"``, ``"title"`` or (before the row is
        known) ``"column 'name'"``.
    :param char: the character.
    :param target: the encoding (``"utf-8"``) or :data:`PDF_TEXT`.
    """

    def __init__(self, where: str, char: str, target: str, row: int | None = None) -> None:
        self.where, self.char, self.target, self.row = where, char, target, row
        why = ""
        if _SURROGATE.fullmatch(char):
            why = (" (a lone UTF-16 surrogate: half of a character, e.g. an emoji cut in two by the producer; "
                   "nothing is replaced, fix the input)")
        super().__init__(f"{where}: character {char!r} cannot be encoded in {target}{why}")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text``, or None."""
    found = _SURROGATE.search(text)
    return found.group() if found is not None else None


def unencodable_in(codec: str) -> Callable[[str], str | None]:
    """A finder of the first character of a text that ``codec`` cannot encode (None: none)."""

    def find(text: str) -> str | None:
        try:
            text.encode(codec)
        except UnicodeEncodeError as exc:
            return exc.object[exc.start]
        return None

    return find


def locate(
    batch: Sequence[Sequence[Any]],
    names: Sequence[str],
    first_row: int,
    null_marker: str,
    find: Callable[[str], str | None],
    target: str,
) -> UnencodableTextError | None:
    """The error for the first cell of ``batch`` (row by row, left to right) whose text holds a
    character ``find`` reports, or None if there is none.

    :param first_row: the number of the batch's first row (1-based over data rows).
    """
    for index, row in enumerate(batch):
        number = first_row + index
        for name, value in zip(names, row, strict=False):
            char = find(format_value(value, null_marker=null_marker, row=number, column=name))
            if char is not None:
                return UnencodableTextError(f"row {number}, column {name!r}", char, target, number)
    return None
