"""COPY against the cursor path where a hostile tester broke it: each case once wrote other bytes than
the cursor path, or failed where the cursor path works. Same harness as the identity suite
(:func:`tests.sources.test_postgres_copy_identity.both_paths`: byte for byte, SHA-256 and records).
"""

from __future__ import annotations

import logging
import random
import struct

import psycopg
import psycopg2
import psycopg2.extras
import pytest

from airflow_export.sources.base import SourceError
from airflow_export.sources.copy_plan import options_reason
from airflow_export.sources.postgres_copy import CopyNotPossible, copy_source
from airflow_export.sources.sql import sql_rows
from airflow_export.writers.csv import write_csv
from airflow_export.writers.csv.options import CsvOptions
from tests.sources.test_postgres_copy_identity import DsnHook, both_paths, read_rows

# Doubles from 2^54 up whose shortest decimal lies exactly half-way to a neighbour: float8out never
# writes it, Python's repr does (when the mantissa is even). Each was written differently by COPY.
BOUNDARY_FLOATS = [1e23, 2.564694451170253e16, -2.564694451170253e16, 4.758125517909248e19, 2.0**54,
                   2.0**54 + 4, -(2.0**60), 2.0**1023, 1.7976931348623157e308, 1e300, 1.5e300, 1e16, 1e22]


def _random_big_floats(count: int) -> list[float]:
    rng = random.Random(14)
    values = []
    for _ in range(count):
        kind = rng.randrange(3)
        if kind == 0:
            values.append(float(rng.randrange(10**16, 10**20)))
        elif kind == 1:
            values.append(-float(rng.randrange(2**54, 2**64)))
        else:  # any bit pattern with an exponent >= 2^54
            bits = rng.getrandbits(52) | (rng.randrange(1077, 2047) << 52) | (rng.getrandbits(1) << 63)
            values.append(struct.unpack("<d", struct.pack("<Q", bits))[0])
    return values


@pytest.fixture(scope="module")
def big_floats(postgres):
    values = BOUNDARY_FLOATS + _random_big_floats(3000)
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS big_floats; CREATE TABLE big_floats (id int, f8 float8, f4 real)")
        with conn.cursor().copy("COPY big_floats FROM STDIN") as copy:
            for i, value in enumerate(values):
                copy.write_row([i, repr(value), "9.383475e19" if i == 0 else None])
    return values


def test_floats_from_1e16_up_are_pythons_repr(postgres, big_floats, tmp_path):
    copied, cursor = both_paths(DsnHook(postgres.dsn), tmp_path, "SELECT * FROM big_floats ORDER BY id")
    assert copied == cursor
    rows = read_rows(copied)[1:]
    assert [row[1] for row in rows] == [repr(v) for v in big_floats]
    assert rows[0][1:] == ["1e+23", "9.383475e+19"]  # float8out: 9.999999999999999e+22, 9.383475000000001e+19


@pytest.mark.parametrize(
    ("query", "parameters"),
    [("SELECT %s AS a, 1 AS b", [1e16]), ("SELECT %s AS a, 1 AS b", [-0.0]), ("SELECT %s AS a, 1 AS b", [1e-05]),
     ("SELECT %s AS a, 1 AS b", [2.5e16]), ("SELECT %(x)s + %(y)s AS s, 1 AS b", {"x": 0.1, "y": 0.2})],
    ids=["1e16", "minus-zero", "1e-05", "2.5e16", "0.1+0.2"],
)
def test_float_parameters_stay_float8(postgres, tmp_path, query, parameters):
    copied, cursor = both_paths(DsnHook(postgres.dsn), tmp_path, query, parameters)
    assert copied == cursor
    expected = parameters["x"] + parameters["y"] if isinstance(parameters, dict) else parameters[0]
    assert read_rows(copied)[1][0] == repr(expected)


def test_the_formula_guard_holds_without_standard_conforming_strings(postgres, tmp_path):
    query = "SELECT t, 1 AS n FROM (VALUES ('-1+2'), ('-5x'), ('+1,5'), ('-5'), ('-.5e3')) AS v(t)"
    hook = DsnHook(postgres.dsn, "-c standard_conforming_strings=off")
    copied, cursor = both_paths(hook, tmp_path, query)
    assert copied == cursor
    assert [row[0] for row in read_rows(copied)[1:]] == ["'-1+2", "'-5x", "'+1,5", "-5", "-.5e3"]


def test_an_unordered_query_gets_the_cursor_paths_row_order(postgres, tmp_path):
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS spread; CREATE TABLE spread AS "
                     "SELECT i, i % 1000 AS k FROM generate_series(1, 300000) AS i")
        conn.execute("CREATE INDEX ON spread (k); ANALYZE spread")
    # A cursor used to be planned for its first 10 % (an ordered index scan), COPY for all rows (a hash).
    copied, cursor = both_paths(DsnHook(postgres.dsn), tmp_path, "SELECT DISTINCT k, 1 AS x FROM spread")
    assert copied == cursor
    assert len(read_rows(copied)) == 1001


class RowFactoryHook(DsnHook):
    """A connection made as Airflow's ``cursor`` extra makes it (dict or namedtuple rows)."""

    def __init__(self, dsn: str, driver: str, factory: object) -> None:
        super().__init__(dsn, driver=driver)
        self.factory = factory

    def get_conn(self):
        if self.driver == "psycopg":
            return psycopg.connect(self.dsn, row_factory=self.factory)
        return psycopg2.connect(self.dsn, cursor_factory=self.factory)


@pytest.mark.parametrize(
    ("driver", "factory"),
    [("psycopg", psycopg.rows.dict_row), ("psycopg", psycopg.rows.namedtuple_row),
     ("psycopg2", psycopg2.extras.RealDictCursor), ("psycopg2", psycopg2.extras.NamedTupleCursor)],
    ids=["dict_row", "namedtuple_row", "RealDictCursor", "NamedTupleCursor"],
)
def test_a_connection_row_factory_does_not_stop_copy(postgres, tmp_path, driver, factory):
    hook = RowFactoryHook(postgres.dsn, driver, factory)
    copied, cursor = both_paths(hook, tmp_path, "SELECT 1 AS a, 'x' AS b, now() > '2000-01-01' AS c")
    assert copied == cursor and read_rows(copied)[1] == ["1", "x", "true"]


def _outputs_of_auto(hook, tmp_path, query, caplog):
    log = logging.getLogger("test.copy.auto")
    with caplog.at_level(logging.INFO, logger="test.copy.auto"), \
            copy_source(hook, query, None, {}, engine="auto", log=log) as source:
        assert source is None  # the cursor path, said in one line
    with sql_rows(hook, query) as source:
        result = write_csv(source.rows, str(tmp_path / "out.csv"), columns=source.columns)
    with open(result.files[0].path, "rb") as fh:
        return fh.read(), [r.getMessage() for r in caplog.records]


def test_a_semicolon_before_a_trailing_comment_takes_the_cursor_path(postgres, tmp_path, caplog):
    query = "SELECT 1 AS a, 2 AS b; -- done"
    data, lines = _outputs_of_auto(DsnHook(postgres.dsn), tmp_path, query, caplog)
    assert data == b"a,b\r\n1,2\r\n"
    assert len(lines) == 1 and "cannot be wrapped" in lines[0]
    with pytest.raises(CopyNotPossible, match="cannot be wrapped"), \
            copy_source(DsnHook(postgres.dsn), query, None, {}, engine="copy"):
        pass


def test_a_sql_ascii_database_takes_the_cursor_path(postgres, tmp_path, caplog):
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS plain_ascii")
        conn.execute("CREATE DATABASE plain_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
    hook = DsnHook(postgres.dsn.replace(f"dbname={postgres.dbname}", "dbname=plain_ascii"))
    with caplog.at_level(logging.INFO, logger="test.copy.auto"), \
            copy_source(hook, "SELECT 1 AS a, 2 AS b", None, {}, engine="auto",
                        log=logging.getLogger("test.copy.auto")) as source:
        assert source is None
    assert "SQL_ASCII" in caplog.records[0].getMessage()
    with pytest.raises(CopyNotPossible, match="SQL_ASCII"), \
            copy_source(hook, "SELECT 1 AS a, 2 AS b", None, {}, engine="copy"):
        pass
    # The cursor path then writes the text as text (psycopg 3 hands it over as bytes: it was written as hex).
    utf8_u = "convert_from(decode('c3bc', 'hex'), 'SQL_ASCII')"  # the bytes of 'ü' in UTF-8, as text
    with sql_rows(hook, f"SELECT 'plain'::text AS t, {utf8_u} AS u, 1 AS n") as source:
        result = write_csv(source.rows, str(tmp_path / "ascii.csv"), columns=source.columns)
    with open(result.files[0].path, encoding="utf-8", newline="") as fh:
        assert fh.read() == "t,u,n\r\nplain,ü,1\r\n"
    latin1_u = "convert_from(decode('fc', 'hex'), 'SQL_ASCII')"
    with pytest.raises(SourceError, match="not UTF-8"), sql_rows(hook, f"SELECT {latin1_u} AS t") as source:
        list(source.rows)


@pytest.mark.parametrize("options", [{"delimiter": "\x00"}, {"quotechar": "\x00"},
                                     {"null_marker": "N\x00", "quoting": "all"}])
def test_nul_in_the_format_takes_the_cursor_path(options):
    assert "NUL" in options_reason(CsvOptions.from_kwargs(**options))


def test_a_function_earlier_in_the_search_path_does_not_change_the_text(postgres, tmp_path):
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS shadow CASCADE; CREATE SCHEMA shadow")
        for name, args in (("ascii", "text"), ("trunc", "float8"), ("replace", "text, text, text")):
            conn.execute(f"CREATE FUNCTION shadow.{name}({args}) RETURNS int LANGUAGE sql AS 'SELECT 100'")
    hook = DsnHook(postgres.dsn, "-c search_path=shadow,pg_catalog,public")
    query = "SELECT '=x'::text AS t, 2.0::float8 AS f, '2013-01-01 10:00'::timestamp AS ts"
    copied, cursor = both_paths(hook, tmp_path, query)
    assert copied == cursor and read_rows(copied)[1] == ["'=x", "2.0", "2013-01-01T10:00:00"]


def test_a_query_that_changes_the_time_zone_as_it_runs(postgres, tmp_path):
    query = ("SELECT set_config('TimeZone', 'Asia/Kathmandu', false) AS s, "
             "'2020-01-01 00:00+00'::timestamptz AS z")
    copied, cursor = both_paths(DsnHook(postgres.dsn), tmp_path, query)
    assert copied == cursor
    assert read_rows(copied)[1] == ["Asia/Kathmandu", "2020-01-01T00:00:00+00:00"]
