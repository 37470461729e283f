"""psycopg 3 loaders giving timestamptz/timestamp/date as ISO 8601 text, identical to ``isoformat()``."""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime, timedelta, timezone

import psycopg
import psycopg2
import pytest

from airflow_export.sources.postgres import (
    iso_date_text,
    iso_timestamp_text,
    iso_timestamptz_text,
    register_iso_datetime_loaders,
)
from airflow_export.sources.sql import sql_rows
from airflow_export.writers.csv import write_csv


def _tz(hours: int = 0, minutes: int = 0, seconds: int = 0) -> timezone:
    return timezone(timedelta(hours=hours, minutes=minutes, seconds=seconds))


class DsnHook:
    """A hook with a plain psycopg 3 (or 2) connection, ``options`` passed to the server."""

    def __init__(self, dsn: str, options: str = "", driver: str = "psycopg") -> None:
        self.dsn, self.options, self.driver = dsn, options, driver

    def get_conn(self):
        connect = psycopg.connect if self.driver == "psycopg" else psycopg2.connect
        return connect(self.dsn, options=self.options) if self.options else connect(self.dsn)


# ------------------------------------------------------------------ the text functions

@pytest.mark.parametrize(
    ("server_text", "expected", "as_datetime"),
    [
        (b"2013-01-01 10:00:00+00", "2013-01-01T10:00:00+00:00", datetime(2013, 1, 1, 10, tzinfo=_tz())),
        (b"2013-01-01 05:00:00-05", "2013-01-01T05:00:00-05:00", datetime(2013, 1, 1, 5, tzinfo=_tz(-5))),
        (b"2013-07-01 15:30:00.5+05:30", "2013-07-01T15:30:00.500000+05:30",
         datetime(2013, 7, 1, 15, 30, 0, 500000, tzinfo=_tz(5, 30))),
        (b"2013-01-01 10:00:00.000001+00", "2013-01-01T10:00:00.000001+00:00",
         datetime(2013, 1, 1, 10, 0, 0, 1, tzinfo=_tz())),
        (b"2013-01-01 10:00:00.123456-09:30", "2013-01-01T10:00:00.123456-09:30",
         datetime(2013, 1, 1, 10, 0, 0, 123456, tzinfo=_tz(-9, -30))),
        (b"1900-01-01 00:19:32+00:19:32", "1900-01-01T00:19:32+00:19:32",
         datetime(1900, 1, 1, 0, 19, 32, tzinfo=_tz(0, 19, 32))),
        (b"1879-12-31 19:03:58-04:56:02", "1879-12-31T19:03:58-04:56:02",
         datetime(1879, 12, 31, 19, 3, 58, tzinfo=_tz(-4, -56, -2))),
        (b"0099-12-31 23:59:59+00", "0099-12-31T23:59:59+00:00", datetime(99, 12, 31, 23, 59, 59, tzinfo=_tz())),
        (b"9999-12-31 23:59:59.999999+14", "9999-12-31T23:59:59.999999+14:00",
         datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_tz(14))),
        (b"infinity", None, None),
        (b"-infinity", None, None),
        (b"0044-03-15 12:00:00+00 BC", None, None),
        (b"10000-01-01 00:00:00+00", None, None),
        (b"2013-01-01T10:00:00+00", None, None),
        (b"", None, None),
    ],
)
def test_iso_timestamptz_text(server_text, expected, as_datetime):
    assert iso_timestamptz_text(server_text) == expected
    if as_datetime is not None:
        assert expected == as_datetime.isoformat()


@pytest.mark.parametrize(
    ("server_text", "expected", "as_datetime"),
    [
        (b"2013-01-01 10:00:00", "2013-01-01T10:00:00", datetime(2013, 1, 1, 10)),
        (b"2013-01-01 10:00:00.25", "2013-01-01T10:00:00.250000", datetime(2013, 1, 1, 10, 0, 0, 250000)),
        (b"2013-01-01 10:00:00.000001", "2013-01-01T10:00:00.000001", datetime(2013, 1, 1, 10, 0, 0, 1)),
        (b"0001-01-01 00:00:00", "0001-01-01T00:00:00", datetime(1, 1, 1)),
        (b"infinity", None, None),
        (b"0044-03-15 12:00:00 BC", None, None),
        (b"294276-01-01 00:00:00", None, None),
        (b"2013-01-01 10:00:00+00", None, None),
    ],
)
def test_iso_timestamp_text(server_text, expected, as_datetime):
    assert iso_timestamp_text(server_text) == expected
    if as_datetime is not None:
        assert expected == as_datetime.isoformat()


@pytest.mark.parametrize(
    ("server_text", "expected"),
    [
        (b"2013-01-01", "2013-01-01"),
        (b"0099-12-31", "0099-12-31"),
        (b"infinity", None),
        (b"-infinity", None),
        (b"0044-03-15 BC", None),
        (b"10000-01-01", None),
        (b"01/02/2013", None),
    ],
)
def test_iso_date_text(server_text, expected):
    assert iso_date_text(server_text) == expected
    if expected is not None:
        assert expected == date.fromisoformat(expected).isoformat()


# ------------------------------------------------------------------ against the server

_EDGE_QUERY = """
SELECT v.id, v.tstz, v.ts, v.d FROM (VALUES
    (1, '1880-01-01 00:00:00+00'::timestamptz, '2013-01-01 10:00:00.000001'::timestamp, '0099-12-31'::date),
    (2, '1900-01-01 00:00:00+00', '2013-01-01 10:00:00', '2013-01-01'),
    (3, '2013-07-01 10:00:00.5+00', '2013-07-01 10:00:00.5', '2013-07-01'),
    (4, '2013-01-01 10:00:00.123456+00', '1999-12-31 23:59:59.999999', '2000-02-29'),
    (5, NULL, NULL, NULL)
) AS v(id, tstz, ts, d) ORDER BY v.id
"""


@pytest.mark.parametrize(
    ("zone", "first_tstz"),
    [
        ("UTC", "1880-01-01T00:00:00+00:00"),
        ("Asia/Kolkata", "1880-01-01T05:21:10+05:21:10"),  # local mean time, an offset with seconds
        ("America/New_York", "1879-12-31T19:03:58-04:56:02"),
        ("Europe/Amsterdam", "1880-01-01T00:19:32+00:19:32"),
    ],
)
def test_loaders_give_exactly_isoformat_of_what_psycopg_loads(postgres, zone, first_tstz):
    hook = DsnHook(postgres.dsn, options=f"-c TimeZone={zone}")
    with sql_rows(hook, _EDGE_QUERY) as source:
        default = [tuple(v if v is None or isinstance(v, int) else v.isoformat() for v in row) for row in source.rows]
    with sql_rows(hook, _EDGE_QUERY, iso_datetime_text=True) as source:
        as_text = [tuple(row) for row in source.rows]
    assert as_text == default
    assert [type(v) for v in as_text[0]] == [int, str, str, str]
    assert as_text[0] == (1, first_tstz, "2013-01-01T10:00:00.000001", "0099-12-31")
    assert as_text[4] == (5, None, None, None)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("'infinity'::timestamptz", "infinity"),
        ("'0044-03-15 12:00:00+00 BC'::timestamptz", "0044-03-15 12:00:00+00 BC"),
        ("'-infinity'::timestamp", "-infinity"), ("'0044-03-15 BC'::date", "0044-03-15 BC"),
        ("'10000-01-01'::date", "10000-01-01"), ("'24:00:00'::time", "24:00:00"), ("'-infinity'::date", "-infinity"),
    ],
)
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_values_python_cannot_hold_are_written_as_the_server_text(postgres, tmp_path, value, text, driver):
    """psycopg 3 used to fail on them; psycopg 2 turned infinity into 9999-12-31 and 24:00 into 00:00."""
    for iso in (False, True):
        with sql_rows(DsnHook(postgres.dsn, driver=driver), f"SELECT {value} AS v, '-x' AS w",
                      iso_datetime_text=iso) as src:
            result = write_csv(src.rows, tmp_path / f"{iso}.csv", columns=src.columns)
        # The server's own text, never guarded (a timestamp is not a string cell); the string is.
        assert (tmp_path / f"{iso}.csv").read_bytes() == f"v,w\r\n{text},'-x\r\n".encode()
        assert result.records == 1


def test_not_registered_for_a_non_iso_datestyle_nor_on_psycopg2(postgres):
    with psycopg.connect(postgres.dsn, options="-c DateStyle=SQL,DMY") as conn:
        assert register_iso_datetime_loaders(conn) is False
    with sql_rows(DsnHook(postgres.dsn, "-c DateStyle=SQL,DMY"), "SELECT now()::date", iso_datetime_text=True) as src:
        assert type(next(iter(src.rows))[0]) is date
    with psycopg.connect(postgres.dsn) as conn:
        assert register_iso_datetime_loaders(conn) is True
        assert conn.execute("SELECT '2013-01-01 10:00:00+00'::timestamptz").fetchone() == ("2013-01-01T10:00:00+00:00",)
    with psycopg2.connect(postgres.dsn) as conn2, pytest.raises(ValueError, match="need a psycopg 3 connection"):
        register_iso_datetime_loaders(conn2)
    with sql_rows(DsnHook(postgres.dsn, driver="psycopg2"), "SELECT '2013-01-01'::date", iso_datetime_text=True) as src:
        assert list(src.rows) == [(date(2013, 1, 1),)]  # ignored for psycopg 2


def test_csv_of_flights_is_byte_identical_with_the_loaders(postgres, tmp_path):
    sql = "SELECT * FROM flights LIMIT 40000"
    digests, seconds = {}, {}
    for iso in (False, True):
        path = tmp_path / f"iso-{iso}.csv"
        started = time.process_time()
        with sql_rows(DsnHook(postgres.dsn), sql, fetch_size=5000, iso_datetime_text=iso) as source:
            result = write_csv(source.rows, path, columns=source.columns, chunk_size=5000)
        seconds[iso] = time.process_time() - started
        assert result.records == 40_000
        digests[iso] = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digests[True] == digests[False]
    print(f"40,000 flights rows, client CPU: datetime {seconds[False]:.2f} s, ISO text loaders {seconds[True]:.2f} s")
