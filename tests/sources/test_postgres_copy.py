"""``copy_query_csv``: PostgreSQL's own CSV through ``COPY (query) TO STDOUT``, written atomically."""

from __future__ import annotations

import csv
import hashlib

import psycopg
import psycopg2
import pytest

from airflow_export.sources.base import SourceError
from airflow_export.sources.postgres import copy_query_csv
from tests.support.postgres import FLIGHTS_COLUMNS, FLIGHTS_ROWS


def test_copy_writes_postgres_csv_of_the_whole_table(postgres, tmp_path):
    path = tmp_path / "out" / "flights.csv"
    with psycopg.connect(postgres.dsn) as conn:
        result = copy_query_csv(conn, "SELECT * FROM flights;", str(path), conn_id="pg_test")
    data = path.read_bytes()
    assert (result.records, result.bytes, result.format, result.path) == (FLIGHTS_ROWS, len(data), "csv", str(path))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    lines = data.split(b"\n")
    assert len(lines) == FLIGHTS_ROWS + 2 and lines[-1] == b""  # header + rows, LF-terminated
    assert lines[0].decode() == ",".join(name for name, _ in FLIGHTS_COLUMNS)
    # PostgreSQL's forms, not ours: double 2 (not 2.0), timestamptz "2013-01-01 10:00:00+00".
    assert lines[1] == b"2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01 10:00:00+00"
    assert lines[-2] == b"2013,9,30,,840,,,1020,,MQ,3531,N839MQ,LGA,RDU,,431,8,40,2013-09-30 12:00:00+00"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


def test_copy_quotes_like_rfc4180_and_reads_back(postgres, tmp_path):
    path = tmp_path / "q.csv"
    sql = "SELECT * FROM (VALUES (1, 'a,b', 'say \"hi\"', E'two\\nlines', NULL::text, '')) AS v(id, c, q, nl, n, e)"
    with psycopg.connect(postgres.dsn) as conn:
        result = copy_query_csv(conn, sql, str(path), header=False)
    assert result.records == 1
    assert path.read_bytes() == b'1,"a,b","say ""hi""","two\nlines",,""\n'
    with open(path, newline="") as fh:
        assert list(csv.reader(fh)) == [["1", "a,b", 'say "hi"', "two\nlines", "", ""]]


def test_copy_error_names_the_connection_and_leaves_no_file(postgres, tmp_path):
    path = tmp_path / "bad.csv"
    with psycopg.connect(postgres.dsn) as conn, pytest.raises(SourceError) as caught:
        copy_query_csv(conn, "SELECT * FROM no_such_table", str(path), conn_id="pg_test")
    assert str(caught.value).startswith(
        "COPY query on connection 'pg_test' failed: UndefinedTable: relation \"no_such_table\" does not exist"
    ), str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_copy_needs_psycopg3(postgres, tmp_path):
    with psycopg2.connect(postgres.dsn) as conn, pytest.raises(ValueError, match="needs a psycopg 3 connection"):
        copy_query_csv(conn, "SELECT 1", str(tmp_path / "x.csv"))
