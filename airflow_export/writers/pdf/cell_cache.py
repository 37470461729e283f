"""The cached cell drawings of one PDF file: three generations under one byte budget.

A cell's drawing (operators, line count) is cached per column and *kind*: by text (``False``:
laid out as text, ``True``: as an atomic value) or by value of one exact type (``int``,
``float``, ``str``; ``1`` and ``1.0`` are equal keys with different texts, so each type has its
own dictionary). Lookups go to the current generation; a cell found in an older one is moved
back to it on its first use. New cells go to the current generation; when it holds
:data:`YOUNG_SHARE` of :data:`CELL_CACHE_BYTES`, or all three would pass the budget, the oldest
generation is dropped and the others age by one. A cell is dropped only when no row used it for
at least one whole generation: the cells a file keeps using stay (carriers, tail numbers), the
ones it stopped using go (a column of unique values, the hours gone by of a timestamp column).
Why: docs/adr/0043-pdf-cell-cache-budget.md.
"""

from __future__ import annotations

import sys
from typing import Any

#: Estimated bytes the cell caches of one file may hold, all generations together. Why this
#: size: docs/adr/0043-pdf-cell-cache-budget.md.
CELL_CACHE_BYTES = 5 << 20
#: The share of :data:`CELL_CACHE_BYTES` the current generation fills before it ages.
YOUNG_SHARE = 2 / 3
#: Estimated bytes of one cached cell besides its texts (dict slot, key, tuple, object headers).
CELL_ENTRY_OVERHEAD = 200
#: The drawing of an empty cell: no operators, no lines.
EMPTY_CELL = ("", 0)
#: A cache kind: ``False`` (cells by text), ``True`` (atomic values by text), or a value type.
Kind = Any
#: One generation: per column, ``{kind: {key: (operators, lines)}}``.
Generation = list[dict[Kind, dict[Any, tuple]]]


def cell_bytes(key: Any, entry: tuple[str, int]) -> int:
    """The estimated bytes of one cached cell: :data:`CELL_ENTRY_OVERHEAD`, its operators and, for a
    text or int key, what the key holds beyond an empty text or a small int (a text of emoji takes 4
    bytes a character, an int of 9,000 digits ~3.7 KB)."""
    key_type = type(key)
    extra = sys.getsizeof(key) - _BASE_SIZE[key_type] if key_type in _BASE_SIZE else 0
    return CELL_ENTRY_OVERHEAD + len(entry[0]) + extra


_BASE_SIZE = {str: sys.getsizeof(""), int: sys.getsizeof(1)}


class CellCache:
    """The cells of one file by column and kind, in three generations (see the module doc).

    :param columns: the number of columns.
    """

    def __init__(self, columns: int) -> None:
        self.columns = columns
        #: the current generation, where lookups go
        self.young: Generation = self._empty()
        #: the two older generations, the oldest last: searched on a miss
        self.older: list[Generation] = [self._empty(), self._empty()]
        #: estimated bytes of the current, the middle and the oldest generation (:func:`cell_bytes`)
        self.generation_bytes = [0, 0, 0]
        #: how many times the generations aged
        self.rotations = 0

    def _empty(self) -> Generation:
        return [{} for _ in range(self.columns)]

    @property
    def cached_bytes(self) -> int:
        """Estimated bytes of every generation (at most :data:`CELL_CACHE_BYTES`)."""
        return sum(self.generation_bytes)

    def table(self, column: int, kind: Kind) -> dict[Any, tuple]:
        """The current generation's cells of ``column`` and ``kind``, for lookups (after a
        :meth:`put` it may be an older generation's: what it holds is still right)."""
        tables = self.young[column]
        table = tables.get(kind)
        if table is None:
            table = tables[kind] = {"": EMPTY_CELL} if type(kind) is bool else {}
        return table

    def get(self, column: int, kind: Kind, key: Any) -> tuple | None:
        """The cell of ``key``, from the current generation, else moved back from an older one;
        None if none has it."""
        table = self.table(column, kind)
        entry = table.get(key)
        if entry is not None:
            return entry
        for age, generation in enumerate(self.older, start=1):
            previous = generation[column].get(kind)
            if previous:
                entry = previous.pop(key, None)
                if entry is not None:
                    size = cell_bytes(key, entry)
                    self.generation_bytes[age] -= size
                    self.generation_bytes[0] += size
                    table[key] = entry
                    return entry
        return None

    def put(self, column: int, kind: Kind, key: Any, entry: tuple) -> tuple:
        """Store a newly drawn cell in the current generation, aging the generations first when
        it is full or the budget would be passed (a cell larger than the whole budget is not
        stored); returns ``entry``."""
        size = cell_bytes(key, entry)
        if size > CELL_CACHE_BYTES:
            return entry
        if self.generation_bytes[0] + size > CELL_CACHE_BYTES * YOUNG_SHARE:
            self._age()
        while sum(self.generation_bytes) + size > CELL_CACHE_BYTES:
            self._age()
        self.table(column, kind)[key] = entry
        self.generation_bytes[0] += size
        return entry

    def _age(self) -> None:
        """Drop the oldest generation; the current one becomes the middle one."""
        self.older = [self.young, self.older[0]]
        self.generation_bytes = [0, *self.generation_bytes[:2]]
        self.young = self._empty()
        self.rotations += 1

    def clear(self) -> None:
        """Drop every cell."""
        self.young = self._empty()
        self.older = [self._empty(), self._empty()]
        self.generation_bytes = [0, 0, 0]

    def columns_cells(self) -> list[int]:
        """How many cells each column holds, every generation and kind (for tests and
        measurements)."""
        return [
            sum(len(table) for generation in (self.young, *self.older) for table in generation[column].values())
            for column in range(self.columns)
        ]
