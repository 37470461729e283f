"""COPY and the cursor path write the same bytes: every type of the value-format table, edge values,
option combinations, two session time zones, and the flights table, compared byte for byte.

Each comparison runs the same query through :func:`copy_source` (``engine="copy"``: COPY or a failure,
never a silent fallback) and through :func:`sql_rows` -> :func:`write_csv`, then also reads the COPY
file back with :mod:`csv` and checks chosen cells against their documented form (docs/formats.md,
"Values"), so that two equally wrong paths cannot pass.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io

import psycopg
import psycopg2
import pytest

from airflow_export.sources.postgres_copy import copy_source
from airflow_export.sources.sql import sql_rows
from airflow_export.writers.csv import write_csv
from tests.support.postgres import FLIGHTS_ROWS


class DsnHook:
    """A hook on the test server (psycopg 3 or 2), with server ``options`` (``-c TimeZone=...``)."""

    conn_type = "postgres"

    def __init__(self, dsn: str, options: str = "", driver: str = "psycopg") -> None:
        self.dsn, self.options, self.driver = dsn, options, driver

    def get_conn(self):
        connect = psycopg.connect if self.driver == "psycopg" else psycopg2.connect
        return connect(self.dsn, options=self.options) if self.options else connect(self.dsn)


# Every column of the table, its type and its values (NULL pads the shorter lists).
EDGE_COLUMNS: dict[str, tuple[str, list[str]]] = {
    "t": ("text", ["NULL", "''", "'a,b'", "'say \"hi\"'", "E'line1\\nline2'", "E'cr\\rx'", "E'crlf\\r\\ny'",
                   "'=1+1'", "'+x'", "'-5'", "'@a'", "E'\\tx'", "E'\\rx'", "'plain'", "'ünï 漢字'", "E'\\\\.'",
                   "' lead'", "'NULL'"]),
    "vc": ("varchar(20)", ["'-1'", "''", "'x\"y'"]),
    # The formula guard's signed-number rule, on the server as in Python: left alone or guarded alike.
    "sg": ("text", ["'-.5'", "'+1e5'", "'-1E-5'", "'+1.'", "'-1e'", "'--5'", "'-5 '", "' -5'", "'-1+2'", "'+'",
                    "'-0x10'", "'-١'", "'-5\n'", "'-5\\n'"]),
    "bp": ("char(5)", ["'ab'", "'=ab'", "'     '"]),
    "b": ("boolean", ["true", "false", "NULL"]),
    "i2": ("smallint", ["-5", "0", "32767", "-32768"]),
    "i4": ("integer", ["-2147483648", "0", "7"]),
    "i8": ("bigint", ["9223372036854775807", "-9223372036854775808", "-1"]),
    "f8": ("double precision", [
        "0.1::float8 + 0.2::float8", "1e16", "1e15", "1.5e15", "1000000000000000.5", "'-0'", "0", "'NaN'",
        "'Infinity'", "'-Infinity'", "2.0", "-3.0", "1e-5", "1e-4", "123.456", "'5e-324'",
        "'1.7976931348623157e308'", "1e22", "123456789012345.6", "9007199254740993", "-1e15", "0.5",
        "1e14", "999999999999999", "-123456789012345", "'-1e-300'"]),
    "f4": ("real", ["0.1", "1e6", "16777216", "'NaN'", "'-Infinity'", "'-0'", "'3.4028235e38'", "'1e-45'", "2.5"]),
    "n": ("numeric", ["1E-20", "'NaN'", "1.50", "-0.001", "12345678901234567890.123", "'Infinity'", "'-Infinity'",
                      "0.000", "'1e-1002'::numeric", "('0.' || repeat('0', 1005))::numeric",
                      "-1.25e-1010::numeric", "1e30", "0"]),
    "d": ("date", ["'0999-01-02'", "'2024-02-29'", "'infinity'", "'-infinity'", "'0044-03-15 BC'",
                   "'10000-01-01'", "'0001-01-01'"]),
    "ts": ("timestamp", ["'2013-01-01 10:00:00'", "'2013-01-01 10:00:00.5'", "'0999-01-02 03:04:05.000001'",
                         "'infinity'", "'-infinity'", "'0044-03-15 10:00 BC'", "'9999-12-31 23:59:59.999999'",
                         "'0999-01-02 03:04:05'", "'0001-01-01 00:00:00'", "'9999-12-29 23:59:59'",
                         "'9999-12-30 00:00:00'", "'2013-01-01 10:00:00.000001'"]),
    "tz": ("timestamptz", ["'2013-01-01 10:00:00+00'", "'2013-07-01 10:00:00.25+00'", "'1900-01-01 00:00:00+00'",
                           "'infinity'", "'-infinity'", "'1850-06-01 12:00:00.000001+00'", "'2038-01-19 03:14:08+00'",
                           "'0999-06-01 00:00:00+00'", "'0001-01-01 00:00:00+00'", "'9999-12-29 23:59:59+00'",
                           "'9999-12-30 00:00:00+00'", "'2013-01-01 10:00:00.000001+00'",
                           "'2013-01-01 10:00:00.999999+00'"]),
    "tm": ("time", ["'10:11:12'", "'10:11:12.5'", "'24:00:00'", "'00:00:00'", "'23:59:59.999999'"]),
    "by": ("bytea", ["''", "'\\x00ff'", "NULL", "'\\x3d3d'", "'\\xdeadbeef'"]),
    "u": ("uuid", ["'12345678-1234-5678-1234-567812345678'", "NULL"]),
    "ai": ("integer[]", ["'{1,2}'", "'{}'", "'{{1,2},{3,NULL}}'", "'[0:1]={5,6}'"]),
    "at": ("text[]", ["'{\"a,b\",\"=x\",NULL,\"q\\\"uote\"}'", "'{}'", "ARRAY[E'nl\\n', 'ü', E'\\x01']"]),
    "ab": ("boolean[]", ["'{t,f,NULL}'"]),
}
EDGE_ROWS = max(len(values) for _, values in EDGE_COLUMNS.values())
EDGE_QUERY = "SELECT * FROM every_type ORDER BY id"
FLIGHTS_QUERY = "SELECT * FROM flights"


@pytest.fixture(scope="module")
def every_type(postgres):
    """Table ``every_type``: one column per type above, :data:`EDGE_ROWS` rows of edge values."""
    ddl = ", ".join(f"{name} {sql_type}" for name, (sql_type, _) in EDGE_COLUMNS.items())
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS every_type; CREATE TABLE every_type (id int PRIMARY KEY, {ddl})")
        for row in range(EDGE_ROWS):
            values = []
            for sql_type, column_values in EDGE_COLUMNS.values():
                value = column_values[row] if row < len(column_values) else "NULL"
                values.append(f"({value})::{sql_type}")
            conn.execute(f"INSERT INTO every_type VALUES ({row + 1}, {', '.join(values)})")
    return postgres


def both_paths(hook, tmp_path, sql, parameters=None, *, name="out.csv", **options) -> tuple[bytes, bytes]:
    """The file COPY writes and the file the cursor path writes (the first file of each)."""
    (tmp_path / "copy").mkdir(exist_ok=True)
    (tmp_path / "cursor").mkdir(exist_ok=True)
    with copy_source(hook, sql, parameters, options, engine="copy") as source:
        assert source is not None and source.direct is not None
        copied = source.direct(str(tmp_path / "copy" / name), columns=source.columns, **options)
    with sql_rows(hook, sql, parameters, fetch_size=2000) as source:
        cursor = write_csv(source.rows, str(tmp_path / "cursor" / name), columns=source.columns, **options)
    with open(copied.files[0].path, "rb") as a, open(cursor.files[0].path, "rb") as b:
        data = a.read(), b.read()
    assert_same(*data)
    assert [f.records for f in copied.files] == [f.records for f in cursor.files]
    assert [f.sha256 for f in copied.files] == [f.sha256 for f in cursor.files]
    for f in copied.files:
        with open(f.path, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == f.sha256
    return data


def assert_same(copied: bytes, cursor: bytes) -> None:
    """Equal bytes; else the first differing lines, shown side by side."""
    if copied == cursor:
        return
    a, b = copied.split(b"\r\n"), cursor.split(b"\r\n")
    diffs = [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y][:5]
    raise AssertionError(f"COPY and cursor differ ({len(a)} vs {len(b)} lines): "
                         + "\n".join(f"line {i}:\n  copy:   {x!r}\n  cursor: {y!r}" for i, x, y in diffs))


def read_rows(data: bytes, **fmt) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), **fmt))


@pytest.mark.parametrize("zone", ["UTC", "Etc/GMT", "Europe/Paris", "Asia/Kolkata"])
def test_every_type_is_byte_identical_in_each_time_zone(every_type, tmp_path, zone):
    hook = DsnHook(every_type.dsn, f"-c TimeZone={zone}")
    copied, cursor = both_paths(hook, tmp_path, EDGE_QUERY)
    assert copied == cursor
    rows = read_rows(copied)
    header, data = rows[0], rows[1:]
    assert header == ["id", *EDGE_COLUMNS] and len(data) == EDGE_ROWS
    column = {name: [row[i] for row in data] for i, name in enumerate(header)}
    # Real values, in the documented forms (not merely equal to each other).
    assert column["t"][:4] == ["", "", "a,b", 'say "hi"'] and column["t"][4] == "line1\nline2"
    assert column["t"][7:13] == ["'=1+1", "'+x", "-5", "'@a", "'\tx", "'\rx"]
    assert column["t"][15] == "\\." and column["t"][17] == "NULL"
    assert column["sg"][:14] == ["-.5", "+1e5", "-1E-5", "+1.", "'-1e", "'--5", "'-5 ", " -5", "'-1+2", "'+",
                                 "'-0x10", "'-١", "'-5\n", "'-5\\n"]
    assert column["vc"][0] == "-1" and column["bp"][:3] == ["ab   ", "'=ab  ", "     "]
    assert column["b"][:3] == ["true", "false", ""]
    assert column["f8"][:14] == ["0.30000000000000004", "1e+16", "1000000000000000.0", "1500000000000000.0",
                                 "1000000000000000.5", "-0.0", "0.0", "NaN", "inf", "-inf", "2.0", "-3.0", "1e-05",
                                 "0.0001"]
    assert column["f8"][19:25] == ["9007199254740992.0", "-1000000000000000.0", "0.5", "100000000000000.0",
                                   "999999999999999.0", "-123456789012345.0"]
    assert column["f4"][:9] == ["0.1", "1000000.0", "16777216.0", "NaN", "-inf", "-0.0", "3.4028235e+38", "1e-45",
                                "2.5"]
    assert column["n"][:8] == ["0.00000000000000000001", "NaN", "1.50", "-0.001", "12345678901234567890.123",
                               "inf", "-inf", "0.000"]
    assert column["n"][8:11] == ["1E-1002", "0E-1005", "-1.25E-1010"]
    assert column["d"][:7] == ["0999-01-02", "2024-02-29", "infinity", "-infinity", "0044-03-15 BC", "10000-01-01",
                               "0001-01-01"]
    assert column["ts"][:5] == ["2013-01-01T10:00:00", "2013-01-01T10:00:00.500000", "0999-01-02T03:04:05.000001",
                                "infinity", "-infinity"]
    assert column["ts"][7:12] == ["0999-01-02T03:04:05", "0001-01-01T00:00:00", "9999-12-29T23:59:59",
                                  "9999-12-30T00:00:00", "2013-01-01T10:00:00.000001"]
    assert column["tz"][3:5] == ["infinity", "-infinity"]
    expected_tz = {"UTC": "2013-01-01T10:00:00+00:00", "Etc/GMT": "2013-01-01T10:00:00+00:00",
                   "Europe/Paris": "2013-01-01T11:00:00+01:00", "Asia/Kolkata": "2013-01-01T15:30:00+05:30"}
    assert column["tz"][0] == expected_tz[zone]
    if zone in ("UTC", "Etc/GMT"):  # the UTC session's form (comparisons, then the text once)
        assert column["tz"][8:13] == ["0001-01-01T00:00:00+00:00", "9999-12-29T23:59:59+00:00",
                                      "9999-12-30T00:00:00+00:00", "2013-01-01T10:00:00.000001+00:00",
                                      "2013-01-01T10:00:00.999999+00:00"]
    if zone == "Europe/Paris":  # local mean time before 1911: an offset with seconds
        assert column["tz"][2] == "1900-01-01T00:09:21+00:09:21"
    assert column["tm"][:4] == ["10:11:12", "10:11:12.500000", "24:00:00", "00:00:00"]
    assert column["by"][:4] == ["", "00ff", "", "3d3d"]
    assert column["u"][0] == "12345678-1234-5678-1234-567812345678"
    assert column["ai"][:4] == ["[1,2]", "[]", "[[1,2],[3,null]]", "[5,6]"]
    assert column["at"][:3] == ['["a,b","=x",null,"q\\"uote"]', "[]", '["nl\\n","ü","\\u0001"]']
    assert column["ab"][0] == "[true,false,null]"
    # NULL vs '': the null is an empty unquoted field, the empty string the quoted "".
    second = copied.split(b"\r\n")[2]
    assert second.startswith(b'2,"",'), second


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"quoting": "all"},
        {"quoting": "all", "null_marker": "\\N"},
        {"quoting": "nonnumeric", "null_marker": "NULL"},
        {"quoting": "nonnumeric"},
        {"delimiter": ";", "quotechar": "'"},
        {"delimiter": "\t"},
        {"header": False},
        {"bom": True},
        {"encoding": "utf-8-sig"},
        {"formula_guard": False},
    ],
    ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()) or "defaults",
)
def test_options_are_byte_identical(every_type, tmp_path, options):
    copied, cursor = both_paths(DsnHook(every_type.dsn, "-c TimeZone=Europe/Paris"), tmp_path, EDGE_QUERY, **options)
    assert copied == cursor
    if options.get("bom") or options.get("encoding") == "utf-8-sig":
        assert copied.startswith(b"\xef\xbb\xbf")
    if options.get("quoting") == "all":
        assert b'"true","false"' in copied.replace(b"\r\n", b"\n")[:2000] or b'"true"' in copied


def test_flights_are_byte_identical(postgres, tmp_path):
    copied, cursor = both_paths(DsnHook(postgres.dsn), tmp_path, FLIGHTS_QUERY)
    assert copied == cursor
    lines = copied.split(b"\r\n")
    assert len(lines) == FLIGHTS_ROWS + 2 and lines[-1] == b""
    assert lines[1] == (b"2013,1,1,517,515,2.0,830,819,11.0,UA,1545,N14228,EWR,IAH,227.0,1400,5,15,"
                        b"2013-01-01T10:00:00+00:00")


@pytest.mark.parametrize(
    "options",
    [{"max_rows_per_file": 100_000}, {"max_bytes_per_file": 5_000_000}, {"compression": "gzip"},
     {"max_rows_per_file": 150_000, "compression": "gzip", "bom": True}],
    ids=["rows", "bytes", "gzip", "rows+gzip+bom"],
)
def test_flights_rolling_and_gzip_are_byte_identical(postgres, tmp_path, options):
    name = "flights.csv.gz" if options.get("compression") else "flights.csv"
    hook = DsnHook(postgres.dsn)
    with copy_source(hook, FLIGHTS_QUERY, None, options, engine="copy") as source:
        copied = source.direct(str(tmp_path / "copy" / name), columns=source.columns, **options)
    with sql_rows(hook, FLIGHTS_QUERY, fetch_size=5000) as source:
        cursor = write_csv(source.rows, str(tmp_path / "cursor" / name), columns=source.columns, **options)
    assert [(f.records, f.bytes, f.sha256) for f in copied.files] == [
        (f.records, f.bytes, f.sha256) for f in cursor.files]
    assert copied.records == FLIGHTS_ROWS and sum(f.records for f in copied.files) == FLIGHTS_ROWS
    if "max_rows_per_file" in options:
        assert len(copied.files) == -(-FLIGHTS_ROWS // options["max_rows_per_file"])
    if "max_bytes_per_file" in options:
        assert len(copied.files) > 1 and all(f.bytes <= 5_000_000 for f in copied.files)
    if options.get("compression"):
        with open(copied.files[0].path, "rb") as fh:
            first = gzip.decompress(fh.read())
        assert first.split(b"\r\n")[0].lstrip(b"\xef\xbb\xbf") == b",".join(
            c.encode() for c in source.columns)


@pytest.mark.parametrize("query", [EDGE_QUERY, FLIGHTS_QUERY], ids=["every-type", "flights"])
def test_psycopg2_connections_are_byte_identical_too(every_type, tmp_path, query):
    hook = DsnHook(every_type.dsn, "-c TimeZone=Europe/Paris", driver="psycopg2")
    with copy_source(hook, "SELECT 1 AS a, 2 AS b", None, {}, engine="copy") as source:
        assert type(source.direct.__closure__) is tuple  # a COPY source, not the cursor path
    copied, cursor = both_paths(hook, tmp_path, query)
    assert copied == cursor
    if query == EDGE_QUERY:  # the same text as through psycopg 3
        (tmp_path / "3").mkdir()
        with_psycopg3, _ = both_paths(DsnHook(every_type.dsn, "-c TimeZone=Europe/Paris"), tmp_path / "3", query)
        assert copied == with_psycopg3
