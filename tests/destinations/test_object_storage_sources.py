"""CSV and JSON Lines sources on object storage read records exactly like local files (moto S3 through
``ObjectStoragePath`` / s3fs, see conftest): the samples of tests/sources/test_file_records.py, gzip,
a file larger than s3fs's 5 MiB read block with a 1 MiB field straddling block boundaries."""

from __future__ import annotations

import csv
import gzip
import io

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_export.sources.files import file_rows
from tests.sources.test_file_records import long_values, odd_csv, odd_jsonl

from .conftest import CONN_ID


def read(path) -> tuple:
    with file_rows(path) as source:
        return source.columns, list(source.rows)


def big_csv() -> bytes:
    """~7 MiB: the odd records many times and a 1 MiB JSON field in between."""
    odd, _ = odd_csv()
    header, _, body = odd.partition(b"\r\n")
    blob, _ = long_values(1 << 20)
    out = io.StringIO(newline="")
    csv.writer(out).writerow(["1000", blob, "end"])
    return header + b"\r\n" + body * 3000 + out.getvalue().encode() + body * 3000


SAMPLES = {
    "odd.csv": lambda: odd_csv()[0],
    "odd.jsonl": lambda: odd_jsonl()[0],
    "odd.csv.gz": lambda: gzip.compress(odd_csv()[0]),
    "odd.jsonl.gz": lambda: gzip.compress(odd_jsonl()[0]),
    "big.csv": big_csv,
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_object_storage_source_reads_like_the_local_file(s3_client, bucket, tmp_path, name):
    old = csv.field_size_limit()
    data = SAMPLES[name]()
    s3_client.put_object(Bucket=bucket, Key=f"in/{name}", Body=data)
    local = tmp_path / name
    local.write_bytes(data)
    try:
        expected = read(local)
        assert read(ObjectStoragePath(f"s3://{bucket}/in/{name}", conn_id=CONN_ID)) == expected
    finally:
        csv.field_size_limit(old)
    if name.startswith("odd.csv"):
        assert expected[1] == odd_csv()[1]
    elif name.startswith("odd.jsonl"):
        assert expected[1] == odd_jsonl()[1]
    else:
        assert len(expected[1]) == 2 * 3000 * 8 + 1 and expected[1][3000 * 8][1] == long_values(1 << 20)[0]
