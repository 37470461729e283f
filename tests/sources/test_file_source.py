"""The file source (airflow_export.sources.files): BOMs, damaged gzip, strict CSV.

(Operator-level file-source tests are in tests/operators/test_export_operators.py; these
call :func:`file_rows` directly.)
"""

from __future__ import annotations

import csv
import gzip
import random

import pytest

from airflow_export.sources.base import SourceError
from airflow_export.sources.files import file_rows


def read(path, source_format=None, **kwargs):
    with file_rows(path, source_format, **kwargs) as source:
        return source.columns, [list(r) if isinstance(r, list) else r for r in source.rows]


# ---------------------------------------------------------------- BOM


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path, suffix):
    data = "\ufeffid,name\r\n1,é\r\n".encode("utf-8")
    path = tmp_path / f"in{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    assert read(path) == (["id", "name"], [["1", "é"]])


def test_utf8_bom_explicit_utf8_encoding_and_bomless_file(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"\xef\xbb\xbfa\r\n1\r\n")
    assert read(path, encoding="UTF-8") == (["a"], [["1"]])
    path.write_bytes(b"a\r\n\xef\xbb\xbf1\r\n")  # a U+FEFF later in the file is data, kept
    assert read(path) == (["a"], [["\ufeff1"]])
    path.write_bytes(b"a\r\n1\r\n")
    assert read(path) == (["a"], [["1"]])


def test_utf8_bom_before_the_first_json_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n')
    assert read(path) == (None, [{"a": 1}, {"a": 2}])


def test_utf16_source_with_bom(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("a,b\r\n1,東\r\n".encode("utf-16"))
    assert read(path, encoding="utf-16") == (["a", "b"], [["1", "東"]])


def test_unknown_encoding_is_a_value_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"a\r\n")
    with pytest.raises(ValueError, match=r"^encoding 'klingon' is not a known Python codec$"):
        read(path, encoding="klingon")


# ---------------------------------------------------------------- damaged gzip


def _noisy_csv(rows):
    rng = random.Random(7)  # incompressible enough that a cut lands mid-file
    return b"id,v\n" + b"".join(b"%d,%x\n" % (i, rng.getrandbits(64)) for i in range(rows))


def test_not_gzip_is_a_source_error_naming_the_file(tmp_path):
    path = tmp_path / "plain.csv.gz"
    path.write_bytes(b"id,v\n1,2\n")  # named .gz, but not gzip
    with pytest.raises(SourceError) as info:
        read(path)
    assert str(info.value) == (
        f"{path}: not gzip, or corrupt or truncated gzip data before line 1 was complete: "
        "BadGzipFile: Not a gzipped file (b'id')"
    )
    assert isinstance(info.value.__cause__, gzip.BadGzipFile)


@pytest.mark.parametrize("source_format", ["csv", "jsonl"])
def test_truncated_gzip_is_a_source_error_naming_file_and_line(tmp_path, source_format):
    if source_format == "csv":
        data = _noisy_csv(20_000)
    else:
        data = b"".join(b'{"id": %d, "v": "%x"}\n' % (i, random.Random(i).getrandbits(64)) for i in range(20_000))
    packed = gzip.compress(data)
    path = tmp_path / f"cut.{source_format}.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(SourceError) as info:
        read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not gzip, or corrupt or truncated gzip data after line ")
    assert message.endswith(": EOFError: Compressed file ended before the end-of-stream marker was reached")
    line = int(message.split("after line ")[1].split(":")[0])
    assert 1000 < line < 20_000  # lines before the cut were read


def test_corrupt_gzip_data_is_a_source_error(tmp_path):
    packed = bytearray(gzip.compress(_noisy_csv(20_000)))
    packed[-6] ^= 0xFF  # the CRC-32 of the trailer
    path = tmp_path / "crc.csv.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(SourceError) as info:
        read(path)
    assert str(info.value).startswith(f"{path}: not gzip, or corrupt or truncated gzip data after line 20001: "
                                      "BadGzipFile: CRC check failed")


# ---------------------------------------------------------------- strict CSV


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b'id,text\r\n1,ok\r\n2,"never closed\r\n3,x\r\n4,y\r\n', 3),
        (b'id,text\r\n1,"a\r\nb"\r\n2,"open', 4),  # after a multi-line record: the line the field starts
        (b'"id,text\r\n1,x\r\n', 1),  # in the header
    ],
)
def test_unterminated_quote_is_a_source_error_naming_file_and_line(tmp_path, data, line):
    path = tmp_path / "open.csv"
    path.write_bytes(data)
    with pytest.raises(SourceError) as info:
        read(path)
    assert str(info.value) == (
        f"{path}: line {line}: unterminated quoted field: no closing quote before the end of the file"
    )


def test_text_after_a_closing_quote_is_a_source_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b'a,b\r\n1,2\r\n3,"x"y\r\n')
    with pytest.raises(SourceError, match=r"bad\.csv: line 3: ',' expected after '\"'$"):
        read(path)


def test_well_formed_quoted_fields_still_read(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b'a,b\r\n1,"x,""y""\r\nz"\r\n2,\r\n3,""\r\n')
    assert read(path) == (["a", "b"], [["1", 'x,"y"\r\nz'], ["2", ""], ["3", ""]])


def test_invalid_utf8_is_a_source_error_naming_the_file(tmp_path):
    path = tmp_path / "bytes.csv"
    path.write_bytes(b"a,b\r\n1,\xff\r\n")
    with pytest.raises(SourceError) as info:
        read(path)
    assert str(info.value) == (
        f"{path}: before line 1 was complete: bytes not valid in utf-8: b'\\xff' (invalid start byte)"
    )


def test_jsonl_integers_beyond_pythons_digit_limit_are_exported_in_full(tmp_path):
    from airflow_export import write_csv
    from airflow_export.sources.files import file_rows

    digits = "9" * 5000
    src = tmp_path / "huge.jsonl"
    src.write_bytes(b'{"a": ' + digits.encode() + b', "b": [-' + digits.encode() + b']}\n{"a": 1, "b": []}\n')
    with file_rows(str(src)) as source:
        write_csv(source.rows, tmp_path / "out.csv", columns=source.columns)
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    # Nested, the big integer is a Decimal, which JSON writes as a string (the value table).
    assert rows == [["a", "b"], [digits, f"[\"-{digits}\"]"], ["1", "[]"]]


def test_huge_int_nested_in_a_pdf_cell(tmp_path):
    from airflow_export import write_pdf

    assert write_pdf([{"v": {"k": 10**5000}}], tmp_path / "n.pdf").records == 1
