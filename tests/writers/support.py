"""Helpers shared by the writer tests."""

from __future__ import annotations

import csv
import gzip
import os

from airflow_export.writers.frame import TEMP_SUFFIX


def read_csv(path, *, encoding="utf-8", **dialect):
    """The records of a CSV file (gzip when the name ends in .gz), as csv.reader reads them."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, newline="") as fh:
        return list(csv.reader(fh, **dialect))


def read_bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def leftovers(directory):
    """The temporary files left in ``directory``."""
    return sorted(name for name in os.listdir(directory) if name.endswith(TEMP_SUFFIX))


class Tracked:
    """An iterable of rows that records how many rows were taken."""

    def __init__(self, rows):
        self.rows = list(rows)
        self.taken = 0

    def __iter__(self):
        for row in self.rows:
            self.taken += 1
            yield row


def parse_copy_csv(data, *, delimiter=",", quotechar='"', lineterminator="\r\n", null=""):
    """A tiny reference reader of PostgreSQL's CSV convention: an UNQUOTED field equal to
    ``null`` is None, a quoted field is always text (so ``""`` is the empty string).
    A line holding nothing is one null field (a one-column row). Strict: raises on bad input."""
    rows, i, n = [], 0, len(data)
    while i < n:
        row = []
        while True:
            if data.startswith(quotechar, i):
                i += 1
                pieces = []
                while True:
                    j = data.index(quotechar, i)
                    pieces.append(data[i:j])
                    i = j + 1
                    if data.startswith(quotechar, i):
                        pieces.append(quotechar)
                        i += 1
                    else:
                        break
                row.append("".join(pieces))
            else:
                j = i
                while j < n and data[j] != delimiter and not data.startswith(lineterminator, j):
                    assert data[j] not in "\r\n" and data[j] != quotechar, (data, j)
                    j += 1
                row.append(None if data[i:j] == null else data[i:j])
                i = j
            if data.startswith(delimiter, i):
                i += 1
                continue
            assert data.startswith(lineterminator, i), (data, i)
            i += len(lineterminator)
            break
        rows.append(row)
    return rows


#: Signed texts: plain numbers pass, anything more is a formula start (issue 16, item 5).
SIGNED_TEXT_CASES = [
    ("+1", "+1"),
    ("-1", "-1"),
    ("-5", "-5"),
    ("+1.5", "+1.5"),
    ("-1e5", "-1e5"),
    ("-.5", "-.5"),
    ("-1E+05", "-1E+05"),
    ("-1+1", "'-1+1"),
    ("+1.5.5", "'+1.5.5"),
    ("-1e", "'-1e"),
    ("-", "'-"),
    ("+", "'+"),
    ("-٣", "'-٣"),  # not an ASCII digit
    ("-1\n", "'-1\n"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
]
