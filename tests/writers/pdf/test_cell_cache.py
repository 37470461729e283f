"""The PDF cell caches' generations and byte budget (airflow_export/writers/pdf/cell_cache.py, ADR 0043)."""

from __future__ import annotations

import random

import pytest

from airflow_export.writers.pdf import cell_cache
from airflow_export.writers.pdf.cell_cache import CELL_ENTRY_OVERHEAD, EMPTY_CELL, CellCache, cell_bytes


def entry(n: int) -> tuple[str, int]:
    return (f"1 0 0 1 10.00 \u0100 Tm ({n}) Tj\n", 1)


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    budget = 30 * (CELL_ENTRY_OVERHEAD + 40)
    monkeypatch.setattr(cell_cache, "CELL_CACHE_BYTES", budget)
    return budget


def test_the_budget_holds_for_every_store(small_budget: int) -> None:
    cache = CellCache(3)
    rng = random.Random(13)
    for i in range(5_000):
        column = rng.randrange(3)
        key = rng.randrange(60) if column else f"text {i}"
        if cache.get(column, int if column else str, key) is None:
            cache.put(column, int if column else str, key, entry(i))
        assert cache.cached_bytes <= small_budget
        assert cache.cached_bytes == sum(
            cell_bytes(key, e)
            for generation in (cache.young, *cache.older)
            for tables in generation
            for table in tables.values()
            for key, e in table.items()
            if e is not EMPTY_CELL
        )
    assert cache.rotations > 10


def test_a_cell_used_in_every_generation_is_never_dropped(small_budget: int) -> None:
    cache = CellCache(2)
    kept = cache.put(0, str, "carrier", ("kept", 1))
    for i in range(2_000):  # unique texts age the generations again and again
        cache.put(1, str, f"id {i}", entry(i))
        if i % 5 == 0:  # a generation holds at least 6 of these cells
            assert cache.get(0, str, "carrier") is kept
    assert cache.rotations > 100
    assert cache.get(0, str, "carrier") is kept and cache.columns_cells()[1] < 30


def test_a_cell_is_moved_back_from_an_older_generation_and_dropped_when_unused(small_budget: int) -> None:
    cache = CellCache(1)
    once = cache.put(0, int, -1, ("once", 1))
    i = 0

    def age() -> None:
        nonlocal i
        rotations = cache.rotations
        while cache.rotations == rotations:
            i += 1
            cache.put(0, int, i, entry(i))

    age()
    assert cache.young[0].get(int, {}).get(-1) is None  # no longer in the current generation
    assert cache.get(0, int, -1) is once and cache.young[0][int][-1] is once  # moved back
    for _ in range(3):
        age()
    assert cache.get(0, int, -1) is None  # unused while the generations aged three times


def test_text_caches_start_with_the_empty_cell_and_kinds_are_apart() -> None:
    cache = CellCache(1)
    assert cache.get(0, False, "") == EMPTY_CELL and cache.get(0, True, "") == EMPTY_CELL
    cache.put(0, int, 1, ("int", 1))
    cache.put(0, float, 1.0, ("float", 1))
    assert cache.get(0, int, 1) == ("int", 1) and cache.get(0, float, 1.0) == ("float", 1)
    assert cache.get(0, str, 1) is None


def test_a_cell_larger_than_the_budget_is_not_stored(small_budget: int) -> None:
    cache = CellCache(1)
    cache.put(0, str, "small", ("s", 1))
    huge = "x" * small_budget
    assert cache.put(0, str, huge, ("h", 1)) == ("h", 1)
    assert cache.get(0, str, huge) is None and cache.get(0, str, "small") == ("s", 1)
    assert cache.cached_bytes == cell_bytes("small", ("s", 1))


@pytest.mark.parametrize(
    ("key", "at_least"),
    [(10**9000, 3_700), ("\N{GRINNING FACE}" * 1_000, 4_000), ("a" * 1_000, 1_000)],
    ids=["int-of-9000-digits", "1000-emoji", "1000-ascii"],
)
def test_a_key_is_counted_by_what_it_holds(key, at_least):
    """Hostile tester: an int key counted nothing and a text key one byte a character, so a column of
    9,000-digit ints held 14 MB against a 1.4 MB estimate, a column of emoji 19 MB against 5 MB."""
    assert cell_bytes(key, ("", 1)) - CELL_ENTRY_OVERHEAD >= at_least
    assert cell_bytes(7, ("", 1)) == CELL_ENTRY_OVERHEAD  # a small int or a float: nothing beyond the entry


def test_every_nan_object_finds_one_cell(tmp_path, drawn):
    """Hostile tester: float('nan') objects are unequal keys, so each separate NaN (numpy, drivers) was
    drawn and cached again: 18,007 drawings for 8 texts in 20,000 rows. NaN now takes the text cache."""
    from airflow_export.writers import pdf

    rows = [(i, float("nan") if i % 10 else float(i % 7)) for i in range(20_000)]
    pdf.write_pdf(rows, tmp_path / "nan.pdf", columns=["i", "x"])
    assert [text for _, text in drawn].count("NaN") == 1
