"""What a record is in a CSV or JSON Lines source (docs/adr/0052): fields of any length (1 MiB and
16 MiB, memory bounded by one record), only ``\\n`` / ``\\r\\n`` outside quotes end a record
(U+2028, U+2029, U+0085, ``\\x1c``-``\\x1e`` are data), integers keep every digit. The same
samples are read from object storage in tests/destinations/test_object_storage_sources.py."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import random
import tracemalloc

import pytest

from airflow_export.sources.base import SourceError
from airflow_export.sources.files import file_rows
from airflow_export.writers.csv import write_csv
from tests.writers.support import read_csv

#: Characters str.splitlines() (and readers built on it) splits at, which are data in a value.
ODD_BREAKS = ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c"]
#: Integers a float (JavaScript's number, a double) cannot hold; every digit must survive.
BIG_INTS = [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 2**64 + 1, 10**30 + 7]


def read(path, source_format=None, **kwargs):
    with file_rows(path, source_format, **kwargs) as source:
        return source.columns, list(source.rows)


def odd_csv() -> tuple[bytes, list[list[str]]]:
    """A CSV file holding the odd characters unquoted and quoted, CRLF and LF records, and the
    records csv.reader must give for it."""
    expected = [[str(n), f"a{ch}b", f"q{ch}\r\n{ch}"] for n, ch in enumerate(ODD_BREAKS, 1)]
    lines = [f'{row[0]},{row[1]},"{row[2]}"' + ("\r\n" if n % 2 else "\n") for n, row in enumerate(expected)]
    return ("id,text,quoted\r\n" + "".join(lines)).encode("utf-8"), expected


def odd_jsonl() -> tuple[bytes, list[dict]]:
    """A JSON Lines file holding the odd characters (raw where JSON allows it), big integers, CRLF
    and LF lines and a CR that is JSON whitespace inside a line; and the objects it holds."""
    expected = [{"id": n, "text": f"a{ch}b", "big": BIG_INTS[n % len(BIG_INTS)]} for n, ch in enumerate(ODD_BREAKS)]
    lines = [json.dumps(row, ensure_ascii=False) + ("\r\n" if n % 2 else "\n") for n, row in enumerate(expected)]
    lines.append('{"id":\r99, "text": "cr", "big": 0}\n')  # a CR inside a line is JSON whitespace
    expected.append({"id": 99, "text": "cr", "big": 0})
    return "".join(lines).encode("utf-8"), expected


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_only_newlines_outside_quotes_end_a_csv_record(tmp_path, gz):
    data, expected = odd_csv()
    path = tmp_path / ("odd.csv.gz" if gz else "odd.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    assert read(path) == (["id", "text", "quoted"], expected)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_only_newlines_end_a_json_line(tmp_path, gz):
    data, expected = odd_jsonl()
    path = tmp_path / ("odd.jsonl.gz" if gz else "odd.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    columns, rows = read(path)
    assert rows == expected
    assert [type(row["big"]) for row in rows] == [int] * len(rows)


# ---------------------------------------------------------------- fields of any length


@pytest.fixture()
def default_field_limit():
    """Python's default csv.field_size_limit (131,072) for the test, whatever ran before."""
    old = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(old)


def long_values(size: int) -> tuple[str, str]:
    """A JSON blob and a base64 cell of ``size`` characters each."""
    rng = random.Random(size)
    blob = json.dumps({"k": "x" * (size - 27), "q": 'a,"b"\n'})
    b64 = base64.b64encode(rng.randbytes(size // 4 * 3)).decode("ascii")
    assert len(blob) == len(b64) == size
    return blob, b64


@pytest.mark.parametrize("size", [1 << 20, 16 << 20], ids=["1MiB", "16MiB"])
def test_csv_fields_of_any_length_are_read_and_written_whole(tmp_path, default_field_limit, size):
    blob, b64 = long_values(size)
    path = tmp_path / "long.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "payload"], ["1", blob], ["2", b64], ["3", "short"]])
    with file_rows(path) as source:
        out = tmp_path / "out.csv"
        write_csv(source.rows, out, columns=source.columns)
    records = read_csv(out)
    assert records == [["id", "payload"], ["1", blob], ["2", b64], ["3", "short"]]


def peak_while_reading(path) -> int:
    tracemalloc.start()
    try:
        with file_rows(path) as source:
            for _ in source.rows:
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_holds_one_record_not_the_file(tmp_path, default_field_limit):
    blob, _ = long_values(1 << 20)
    peaks = {}
    for count in (2, 24):
        path = tmp_path / f"many{count}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["id", "payload"], *([str(n), blob] for n in range(count))])
        peaks[count] = peak_while_reading(path)
    # 24 MiB of records: the peak is that of one 1 MiB record (csv's field buffer is 4 bytes a character).
    assert peaks[24] < 12 << 20, peaks
    assert peaks[24] < peaks[2] * 1.25, peaks


def test_a_quote_left_open_before_a_long_tail_is_still_an_error(tmp_path, default_field_limit):
    path = tmp_path / "open.csv"
    path.write_bytes(b'id,payload\r\n1,ok\r\n2,"' + b"x" * (2 << 20) + b"\r\n3,y\r\n")
    with pytest.raises(SourceError) as info:
        read(path)
    assert str(info.value) == (
        f"{path}: line 3: unterminated quoted field: no closing quote before the end of the file"
    )


def test_text_after_a_long_quoted_field_is_still_an_error(tmp_path, default_field_limit):
    path = tmp_path / "bad.csv"
    path.write_bytes(b'id,payload\r\n1,"' + b"x" * (1 << 20) + b'"tail\r\n')
    with pytest.raises(SourceError, match=rf"^{path}: line 2: ',' expected after '\"'$"):
        read(path)


def test_the_csv_module_limit_is_only_ever_raised(tmp_path, default_field_limit):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a\r\n1\r\n")
    read(path)
    raised = csv.field_size_limit()
    assert raised > 1 << 40
    csv.field_size_limit(raised)  # reading again leaves it as it is
    read(path)
    assert csv.field_size_limit() == raised
