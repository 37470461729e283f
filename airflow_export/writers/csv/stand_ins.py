"""Stand-in cells: how the CSV writer writes nulls and empty strings PostgreSQL's way through
Python's :mod:`csv` (reason: docs/adr/0004-csv-nulls-and-stand-ins.md)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from airflow_export.writers.csv.options import CsvOptions

# Stand-in characters, preferred first: C0 controls that text data hardly ever holds (and
# that keep an ASCII chunk ASCII, so encoding stays a copy). Any other is taken when a chunk
# holds these (see StandIns.other).
_STAND_IN_CHARS = "\x1a\x1c\x1d\x1e\x1f\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"


def _stand_in_candidates() -> Iterable[str]:
    yield from _STAND_IN_CHARS
    for code in range(0xE000, 0xF900):  # the BMP private use area
        yield chr(code)
    for code in range(1, 0x110000):
        if not 0xD800 <= code < 0xE000:
            yield chr(code)


class StandIns:
    """Stand-in cells for the fields Python 3.11's csv cannot write PostgreSQL's way, and
    the text that replaces their rendering in a chunk's text (docs/adr/0004-csv-nulls-and-stand-ins.md).

    Three kinds, each with its own character ``ch``: an empty text (written ``""``, or
    nothing under ``quoting="none"``), a null (written as the null marker, unquoted) and a
    text equal to the null marker (written quoted). The stand-in cell is ``quotechar + ch``,
    which every quoting mode but "none" renders as the token ``qqq ch q``; under "none"
    it is ``ch`` itself. A token in a chunk's text comes from a stand-in or from data
    holding ``ch``; :meth:`apply` replaces the tokens and fails (returns None) when their
    number is not the number of stand-ins, and the chunk is then redone with characters
    the chunk's text does not hold (:meth:`other`), which makes a second failure impossible.

    Which fields need a stand-in: "minimal": empty texts and marker-equal texts always,
    nulls only in a one-column file with an empty marker (csv would write ``""`` for a
    record of one empty field); "all"/"nonnumeric": nulls (csv would quote them); "none":
    in a one-column file, nulls and empty texts (csv refuses a record of one empty field).
    """

    def __init__(self, opts: CsvOptions, width: int, chars: str) -> None:
        quotechar, marker, quoting = opts.quotechar, opts.null_marker, opts.quoting
        bare = quoting == csv.QUOTE_NONE
        empty_char, null_char, marker_char = chars[0], chars[1], chars[2]
        self.chars = chars

        def cell(char: str) -> str:
            return char if bare else quotechar + char

        def token(char: str) -> str:
            return char if bare else quotechar * 3 + char + quotechar

        self.null_stand_in = cell(null_char)
        #: The cell for a null in the rows given to csv: a stand-in, or written as is.
        self.null_cell: str | None = self.null_stand_in
        if quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE) and (marker or width > 1):
            self.null_cell = marker or None  # csv writes None as an empty field
        self.null_is_stand_in = self.null_cell is self.null_stand_in
        self.empty_cell: str | None = None
        self.marker_text: str | None = None
        self.marker_cell: str | None = None
        if quoting == csv.QUOTE_MINIMAL:
            self.empty_cell = cell(empty_char)
            if marker:
                self.marker_text = marker
                self.marker_cell = cell(marker_char)
        elif bare and width == 1:
            self.empty_cell = cell(empty_char)
        #: (token, replacement) for empty texts, nulls, marker-equal texts.
        self.replacements = (
            (token(empty_char), "" if bare else quotechar * 2),
            (token(null_char), marker),
            (token(marker_char), quotechar + marker + quotechar),
        )

    @classmethod
    def preferred(cls, opts: CsvOptions, width: int) -> StandIns:
        return cls.other(opts, width, set())

    @classmethod
    def other(cls, opts: CsvOptions, width: int, present: set[str]) -> StandIns:
        """Stand-ins using three characters absent from ``present`` (a chunk's characters)."""
        taken = present | {opts.delimiter, opts.quotechar, "\r", "\n"}
        chars = ""
        for char in _stand_in_candidates():
            if char not in taken:
                chars += char
                if len(chars) == 3:
                    return cls(opts, width, chars)
        raise ValueError("a chunk holds nearly every Unicode character; use a smaller chunk_size")

    def for_quote_all(self, row: Sequence[Any]) -> tuple[list[Any], int]:
        """``row`` for the quote-all writer: nulls written as is become null stand-ins, so
        they stay unquoted. Returns the row and the number of stand-ins put."""
        if self.null_is_stand_in:
            return list(row), 0
        native = self.null_cell  # None or the marker text (the very object csv_chunk put)
        out = [self.null_stand_in if c is native else c for c in row]
        return out, sum(1 for c in row if c is native)

    def apply(self, texts: list[str], counts: tuple[int, int, int]) -> list[str] | None:
        """``texts`` with every token replaced, or None if a token count is not ``counts``
        (empty texts, nulls, marker-equal texts): the data holds a stand-in character."""
        for (token, text), want in zip(self.replacements, counts, strict=False):
            if not want:
                continue
            delta = len(text) - len(token)
            if delta:
                before = sum(map(len, texts))
                texts = [t.replace(token, text) for t in texts]
                found = (sum(map(len, texts)) - before) // delta
            else:
                found = sum(t.count(token) for t in texts)
                texts = [t.replace(token, text) for t in texts]
            if found != want:
                return None
        return texts

