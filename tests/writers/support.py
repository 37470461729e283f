"""Helpers shared by the writer tests."""

from __future__ import annotations


class Tracked:
    """An iterable of rows that records how many rows were taken."""

    def __init__(self, rows):
        self.rows = list(rows)
        self.taken = 0

    def __iter__(self):
        for row in self.rows:
            self.taken += 1
            yield row
