"""The chunk renderer: the join path and the csv path write the same bytes; stand-ins."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from airflow_export.writers.csv import write_csv
from tests.writers.support import parse_copy_csv, read_bytes, read_csv

PLAIN_POOL = [None, "", "x", "NULL", "\\N", "=f", "-1", " ", "'", "é東", "\x1a", '\x1c', 0, -1, 2**70, 2.5, -0.0,
              float("inf"), float("nan"), True, Decimal("1.50"), date(2020, 1, 2), b"", b"\x01", uuid.UUID(int=1)]


SOMETIMES_QUOTED = ["a,b", 'say "hi"', "line\nbreak", "cr\ronly", "\r\n", '"\x1a', ","]


def test_chunk_holding_every_preferred_stand_in_character(tmp_path):
    # Every ASCII control the writer prefers is in the data (and forms tokens): it falls back to
    # private-use characters for this chunk, and the output is still exact, also in latin-1.
    from airflow_export.writers.csv.stand_ins import _STAND_IN_CHARS

    noise = "".join('"' + c for c in _STAND_IN_CHARS)
    rows = [(noise, "", None), ("", noise, "x")]
    for encoding in ("utf-8", "latin-1"):
        path = tmp_path / f"all-{encoding}.csv"
        write_csv(rows, path, columns=list("abc"), encoding=encoding, chunk_size=2)
        quoted = '"' + noise.replace('"', '""') + '"'
        assert read_bytes(path) == f'a,b,c\r\n{quoted},"",\r\n"",{quoted},x\r\n'.encode(encoding)


@pytest.mark.parametrize("quoting", ["minimal", "none"])
@pytest.mark.parametrize("null_marker", ["", "NULL"])
@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("rolling", [{}, {"max_bytes_per_file": 200}, {"max_rows_per_file": 7}])
def test_join_path_and_csv_path_write_the_same_bytes(tmp_path, monkeypatch, quoting, null_marker, width, rolling):
    """The join path (no field needs quotes) must write what the csv module path writes."""
    import random

    import airflow_export.writers.csv.render as render_module

    rng = random.Random(f"{quoting}{null_marker}{width}{rolling}")
    pool = PLAIN_POOL
    if quoting == "none":  # needs a marker; a text equal to it is an error there
        null_marker = null_marker or r"\N"
        pool = [v for v in PLAIN_POOL if not (type(v) is str and v == null_marker)]
    rows = [tuple(rng.choice(pool) for _ in range(width)) for _ in range(120)]
    columns = [f"c{i}" for i in range(width)]
    options = dict(columns=columns, quoting=quoting, null_marker=null_marker, chunk_size=16, **rolling)
    joined = write_csv(rows, tmp_path / "join" / "x.csv", **options)
    calls = []
    original = render_module.ChunkRenderer._join
    monkeypatch.setattr(render_module.ChunkRenderer, "_join", lambda *a: calls.append(1) or original(*a))
    write_csv(rows, tmp_path / "probe" / "x.csv", **options)
    assert calls  # the join path did write these chunks
    monkeypatch.setattr(render_module, "_NUMBER_CHARS", frozenset(",0123456789.-+einfNa"))  # disables it
    calls.clear()
    through_csv = write_csv(rows, tmp_path / "csv" / "x.csv", **options)
    assert not calls
    assert [read_bytes(f.path) for f in joined.files] == [read_bytes(f.path) for f in through_csv.files]
    assert [f.records for f in joined.files] == [f.records for f in through_csv.files]


def test_a_chunk_needing_quotes_goes_through_the_csv_module(tmp_path, monkeypatch):
    import airflow_export.writers.csv.render as render_module

    used = []
    original = render_module.ChunkRenderer._write
    monkeypatch.setattr(render_module.ChunkRenderer, "_write", lambda *a: used.append(1) or original(*a))
    path = tmp_path / "q.csv"
    write_csv([("a", None), ("b", "")], path, columns=["s", "t"], chunk_size=1)
    assert used == []
    write_csv([("a", None), ("b,c", "")], path, columns=["s", "t"], chunk_size=1)
    assert used == [1]  # only the second chunk
    assert read_bytes(path) == b's,t\r\na,\r\n"b,c",""\r\n'


@pytest.mark.parametrize("null_marker", ["", "NULL"])
@pytest.mark.parametrize("lineterminator", ["\r\n", "\n"])
@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("rolling", [{}, {"max_bytes_per_file": 300}])
def test_rows_needing_quotes_among_plain_rows_same_bytes_as_csv_path(tmp_path, monkeypatch, null_marker,
                                                                      lineterminator, width, rolling):
    import random

    import airflow_export.writers.csv.render as render_module

    rng = random.Random(f"{null_marker}{lineterminator}{width}{rolling}")
    rows = [tuple(rng.choice(SOMETIMES_QUOTED) if rng.random() < 0.04 else rng.choice(PLAIN_POOL)
                  for _ in range(width)) for _ in range(300)]
    columns = [f"c{i}" for i in range(width)]
    options = dict(columns=columns, null_marker=null_marker, lineterminator=lineterminator, chunk_size=50, **rolling)
    split = write_csv(rows, tmp_path / "split" / "x.csv", **options)
    monkeypatch.setattr(render_module, "_NUMBER_CHARS", frozenset(",0123456789.-+einfNa"))
    whole = write_csv(rows, tmp_path / "csv" / "x.csv", **options)
    assert [read_bytes(f.path) for f in split.files] == [read_bytes(f.path) for f in whole.files]
    back = parse_copy_csv(b"".join(read_bytes(f.path) for f in split.files[:1]).decode(),
                          lineterminator=lineterminator, null=null_marker)
    assert back[0] == columns


def test_only_the_rows_needing_quotes_go_through_the_csv_module(tmp_path, monkeypatch):
    import airflow_export.writers.csv.render as render_module

    batches = []
    original = render_module.ChunkRenderer._write
    monkeypatch.setattr(render_module.ChunkRenderer, "_write",
                        lambda self, cells, first_row: batches.append(list(cells)) or original(self, cells, first_row))
    rows = [(i, f"r{i}", None if i % 3 else "") for i in range(10)]
    rows[4] = (4, "a,b", "")
    rows[7] = (7, 'q"', None)
    rows[1] = (1, "", "")  # "" in the same column: written '""' by the join path, not sent to csv
    path = tmp_path / "s.csv"
    write_csv(rows, path, columns=["i", "s", "e"])
    assert len(batches) == 1  # one sub-batch: the two rows needing quotes, "" as its stand-in cell
    assert [row[:2] for row in batches[0]] == [(4, "a,b"), (7, 'q"')] and batches[0][1][2] is None
    expected = ["i,s,e"] + [f'{i},r{i},{"" if i % 3 else chr(34) * 2}' for i in range(10)]
    expected[5] = '4,"a,b",""'
    expected[8] = '7,"q""",'
    expected[2] = '1,"",""'
    assert read_bytes(path) == ("\r\n".join(expected) + "\r\n").encode()


@pytest.mark.parametrize("delimiter", [",", "%", ";"])
@pytest.mark.parametrize("chunk_size", [1, 3, 1000])
def test_join_path_formats_like_str(tmp_path, delimiter, chunk_size):
    # The join path formats whole chunks with "%s" (str() of every cell): "%" in the
    # delimiter or the data, lists as rows, nulls, NaN, -0.0, big ints, Decimals and
    # number/str mixes across chunks must come out as str() writes them.
    rows = [
        [1, 0.1, "100%s", None, Decimal("1.50")],
        (-0.0, 0.0, "%d%%", "", 10**30),
        (2, float("nan"), "a", "=1+1", 1.0),
        (3, 2.5, None, "x", "y"),
        (True, -1e300, "%(x)s", "é", 0),
    ]
    path = tmp_path / "out.csv"
    write_csv(rows, path, columns=["a", "b", "c", "d", "e"], chunk_size=chunk_size, delimiter=delimiter)
    assert read_csv(path, delimiter=delimiter)[1:] == [
        ["1", "0.1", "100%s", "", "1.50"],
        ["-0.0", "0.0", "%d%%", "", str(10**30)],
        ["2", "NaN", "a", "'=1+1", "1.0"],
        ["3", "2.5", "", "x", "y"],
        ["true", "-1e+300", "%(x)s", "é", "0"],
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Data holding the stand-in characters, alone and forming the exact stand-in tokens.
        ([("\x1a", "", '"\x1a')], b'a,b,c\r\n\x1a,"","""\x1a"\r\n'),
        ([('"""\x1a"', "", None)], b'a,b,c\r\n"""""""\x1a""","",\r\n'),
        ([("\x1a\x1c\x1d", "", "NULL")], b'a,b,c\r\n\x1a\x1c\x1d,"",NULL\r\n'),
    ],
)
def test_data_holding_stand_in_characters_is_written_exactly(tmp_path, rows, expected):
    path = tmp_path / "s.csv"
    write_csv(rows, path, columns=list("abc"))
    assert read_bytes(path) == expected
