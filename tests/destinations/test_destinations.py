"""Exports to object storage: staged locally, uploaded to a temporary key, copied into place.

Runs against a moto S3 server on 127.0.0.1 (see conftest) through Airflow's
``ObjectStoragePath`` / amazon provider / s3fs, and checks what a reader of the bucket sees.
"""

from __future__ import annotations

import hashlib
import os
import re

import pytest
from airflow.sdk import ObjectStoragePath
from pypdf import PdfReader

from airflow_export import write_csv, write_pdf
from airflow_export.destinations import Destination, ExportPathError, remote, resolve_destination, staged_output
from airflow_export.writers.frame import OutputError, OutputExistsError

from .conftest import CONN_ID

TEMP_KEY = re.compile(r"^exports/\.x\.csv\.airflow-export-tmp-[0-9a-f]{16}$")


def list_keys(s3_client, bucket: str) -> list[str]:
    """Every key in ``bucket``, sorted."""
    return sorted(obj["Key"] for obj in s3_client.list_objects_v2(Bucket=bucket).get("Contents", []))


def get_bytes(s3_client, bucket: str, key: str) -> bytes:
    return s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows(n: int, fail_after: int | None = None, seen: list[int] | None = None):
    """``n`` rows ``[i, "name i", i * 1.5]``; raises RuntimeError before row ``fail_after + 1``."""
    for i in range(1, n + 1):
        if seen is not None:
            seen.append(i)
        if fail_after is not None and i > fail_after:
            raise RuntimeError(f"source failed after {fail_after} rows")
        yield [i, f"name {i}", i * 1.5]


COLUMNS = ["id", "name", "amount"]


def s3_path(bucket: str, key: str) -> ObjectStoragePath:
    return ObjectStoragePath(f"s3://{bucket}/{key}", conn_id=CONN_ID)


@pytest.fixture()
def s3_calls(s3_endpoint):
    """``(operation, Key, CopySource)`` of every S3 call the ``aws_s3`` file system makes."""
    fs = ObjectStoragePath("s3://any/x", conn_id=CONN_ID).fs
    fs.connect()
    calls: list[tuple[str, str | None, str | None]] = []

    def record(params, model, **_):
        calls.append((model.name, params.get("Key"), params.get("CopySource")))

    fs.s3.meta.events.register("before-parameter-build.s3", record)
    yield calls
    fs.s3.meta.events.unregister("before-parameter-build.s3", record)


# -- resolving output_path (no storage touched) -------------------------------------------


@pytest.mark.parametrize(
    ("output_path", "kwargs", "uri", "remote_path", "conn_id", "name"),
    [
        ("s3://bkt/exports/x.csv", {"conn_id": "aws_s3"},
         "s3://bkt/exports/x.csv", "bkt/exports/x.csv", "aws_s3", "x.csv"),
        ("s3://aws_s3@bkt/a/b/y.pdf", {}, "s3://bkt/a/b/y.pdf", "bkt/a/b/y.pdf", "aws_s3", "y.pdf"),
        ("s3://aws_s3@bkt/a/b/y.pdf", {"conn_id": "aws_s3"}, "s3://bkt/a/b/y.pdf", "bkt/a/b/y.pdf", "aws_s3", "y.pdf"),
        ("s3://bkt/top.csv.gz", {"conn_id": "aws_s3"}, "s3://bkt/top.csv.gz", "bkt/top.csv.gz", "aws_s3", "top.csv.gz"),
        # the export root does not apply to object storage
        ("s3://bkt/x.csv", {"conn_id": "aws_s3", "export_root": "/nonexistent/root"},
         "s3://bkt/x.csv", "bkt/x.csv", "aws_s3", "x.csv"),
    ],
)
def test_remote_uri_strings_resolve(s3_endpoint, output_path, kwargs, uri, remote_path, conn_id, name):
    dest = resolve_destination(output_path, **kwargs)
    found = (dest.uri, dest.protocol, dest.remote_path, dest.conn_id, dest.name)
    assert found == (uri, "s3", remote_path, conn_id, name)
    assert dest.is_remote and dest.local_path is None


def test_object_storage_path_resolves_with_its_connection(s3_endpoint):
    dest = resolve_destination(ObjectStoragePath("s3://bkt/exports/x.csv", conn_id=CONN_ID), export_root="/elsewhere")
    assert dest == Destination(
        uri="s3://bkt/exports/x.csv", protocol="s3", remote_path="bkt/exports/x.csv", conn_id=CONN_ID
    )


@pytest.mark.parametrize(
    ("make_path", "expected_rel"),
    [
        (lambda root: f"file://{root}/sub/x.csv", "sub/x.csv"),
        (lambda root: f"file://localhost{root}/x.csv", "x.csv"),
        (lambda root: f"file://{root}/with%20space.csv", "with space.csv"),
        (lambda root: "rel/x.csv", "rel/x.csv"),  # plain relative path: relative to the root
        (lambda root: ObjectStoragePath(f"file://{root}/osp/x.pdf"), "osp/x.pdf"),
    ],
)
def test_local_targets_resolve_inside_the_export_root(tmp_path, make_path, expected_rel):
    root = tmp_path / "root"
    root.mkdir()
    dest = resolve_destination(make_path(root), export_root=root)
    expected = os.path.realpath(root / expected_rel)
    assert (dest.local_path, dest.uri, dest.protocol, dest.is_remote) == (expected, f"file://{expected}", "file", False)


@pytest.mark.parametrize(
    ("output_path", "kwargs", "error", "message"),
    [
        ("s3://bkt", {"conn_id": "aws_s3"}, ValueError, "expected s3://BUCKET/KEY naming an object"),
        ("s3://bkt/", {"conn_id": "aws_s3"}, ValueError, "expected s3://BUCKET/KEY naming an object"),
        ("s3://aws_s3@bkt/x.csv", {"conn_id": "other"}, ValueError, "uses connection 'aws_s3', but conn_id='other'"),
        ("file://server/share/x.csv", {}, ValueError, "not host 'server'"),
        ("file:///tmp/x.csv?a=1", {}, ValueError, "may not have a query or fragment"),
        ("", {}, ValueError, "output_path is empty"),
        ("file:///etc/x.csv", {"export_root": "ROOT"}, ExportPathError, "outside the export root"),
        ("../escape.csv", {"export_root": "ROOT"}, ExportPathError, "outside the export root"),
    ],
)
def test_bad_output_paths_are_rejected(s3_endpoint, tmp_path, output_path, kwargs, error, message):
    kwargs = {k: (str(tmp_path) if v == "ROOT" else v) for k, v in kwargs.items()}
    with pytest.raises(error, match=re.escape(message)):
        resolve_destination(output_path, **kwargs)


# -- uploads ------------------------------------------------------------------------------


def test_csv_upload_goes_through_a_temporary_key_and_matches_a_local_export(s3_client, bucket, s3_calls, tmp_path):
    reference = write_csv(rows(3000), tmp_path / "x.csv", columns=COLUMNS)
    with staged_output(s3_path(bucket, "exports/x.csv")) as stage:
        staging_dir = os.path.dirname(stage.local_path)
        assert os.path.basename(stage.local_path) == "x.csv" and os.path.isdir(staging_dir)
        result = stage.commit(write_csv(rows(3000), stage.local_path, columns=COLUMNS))

    data = get_bytes(s3_client, bucket, "exports/x.csv")
    assert sha256(data) == reference.sha256 == result.sha256
    assert len(data) == reference.bytes == result.bytes
    assert result.path == f"s3://{bucket}/exports/x.csv"
    files = [(f.path, f.records, f.bytes) for f in result.files]
    assert files == [(f"s3://{bucket}/exports/x.csv", 3000, reference.bytes)]
    assert (result.records, result.format) == (3000, "csv")
    assert list_keys(s3_client, bucket) == ["exports/x.csv"]
    assert not os.path.exists(staging_dir)

    writes = [c for c in s3_calls if c[0] in ("PutObject", "CreateMultipartUpload", "CopyObject", "DeleteObject")]
    assert [op for op, _, _ in writes] == ["PutObject", "CopyObject", "DeleteObject"]
    temp_key = writes[0][1]
    assert TEMP_KEY.match(temp_key), temp_key
    assert writes[1] == ("CopyObject", "exports/x.csv", f"{bucket}/{temp_key}")  # server-side copy
    assert writes[2] == ("DeleteObject", temp_key, None)


def test_file_larger_than_one_block_is_streamed_as_a_multipart_upload(s3_client, bucket, s3_calls, monkeypatch):
    monkeypatch.setattr(remote, "UPLOAD_BLOCK_BYTES", 5 * 1024 * 1024)  # S3's minimum part size
    with staged_output(s3_path(bucket, "exports/x.csv")) as stage:
        wide_rows = ([i, "padding " * 5] for i in range(140_000))
        result = stage.commit(write_csv(wide_rows, stage.local_path, columns=["id", "text"]))
    assert 5 * 1024 * 1024 < result.bytes < 10 * 1024 * 1024
    assert result.records == 140_000
    assert sha256(get_bytes(s3_client, bucket, "exports/x.csv")) == result.sha256
    ops = [op for op, _, _ in s3_calls if op in ("PutObject", "UploadPart", "CompleteMultipartUpload", "CopyObject")]
    assert ops == ["UploadPart", "UploadPart", "CompleteMultipartUpload", "CopyObject"]
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert list_keys(s3_client, bucket) == ["exports/x.csv"]


def test_rolled_pdf_parts_are_all_uploaded_and_stale_parts_removed(s3_client, bucket, tmp_path):
    def export(n: int):
        with staged_output(s3_path(bucket, "reports/r.pdf")) as stage:
            return stage.commit(write_pdf(rows(n), stage.local_path, columns=COLUMNS, title="R", max_rows_per_file=100))

    first = export(380)
    assert [f.path for f in first.files] == [f"s3://{bucket}/reports/r.part-0000{i}.pdf" for i in (1, 2, 3, 4)]
    assert list_keys(s3_client, bucket) == [f"reports/r.part-0000{i}.pdf" for i in (1, 2, 3, 4)]

    reference = write_pdf(rows(250), tmp_path / "r.pdf", columns=COLUMNS, title="R", max_rows_per_file=100)
    result = export(250)
    assert [f.path for f in result.files] == [f"s3://{bucket}/reports/r.part-0000{i}.pdf" for i in (1, 2, 3)]
    assert list_keys(s3_client, bucket) == [f"reports/r.part-0000{i}.pdf" for i in (1, 2, 3)]  # part 4 removed
    assert [f.records for f in result.files] == [100, 100, 50]
    assert (result.records, result.bytes) == (250, sum(f.bytes for f in reference.files))
    for uploaded, local in zip(result.files, reference.files, strict=True):
        data = get_bytes(s3_client, bucket, uploaded.path.split("/", 3)[3])
        assert sha256(data) == uploaded.sha256 == local.sha256
    last = get_bytes(s3_client, bucket, "reports/r.part-00003.pdf")
    (tmp_path / "got.pdf").write_bytes(last)
    text = PdfReader(tmp_path / "got.pdf").pages[0].extract_text()
    assert "name 201" in text and "name 250" in text and "name 200" not in text


@pytest.mark.parametrize(
    ("output_path", "kwargs"),
    [("s3://{bucket}/exports/x.csv", {"conn_id": CONN_ID}), ("s3://aws_s3@{bucket}/exports/x.csv", {})],
)
def test_string_uris_upload(s3_client, bucket, output_path, kwargs):
    with staged_output(output_path.format(bucket=bucket), **kwargs) as stage:
        result = stage.commit(write_csv(rows(10), stage.local_path, columns=COLUMNS))
    assert result.path == f"s3://{bucket}/exports/x.csv"
    assert get_bytes(s3_client, bucket, "exports/x.csv").decode().splitlines()[:2] == ["id,name,amount", "1,name 1,1.5"]


# -- atomicity ----------------------------------------------------------------------------

OLD = b"old,content\r\n"


@pytest.mark.parametrize("writer", ["csv", "pdf"])
@pytest.mark.parametrize("existing", [False, True])
def test_failure_while_writing_uploads_nothing(s3_client, bucket, writer, existing):
    if existing:
        s3_client.put_object(Bucket=bucket, Key="exports/x.csv", Body=OLD)
    seen: list[int] = []
    write = write_csv if writer == "csv" else write_pdf
    with (
        pytest.raises(RuntimeError, match="source failed after 5000 rows"),
        staged_output(s3_path(bucket, "exports/x.csv")) as stage,
    ):
        staging_dir = os.path.dirname(stage.local_path)
        stage.commit(write(rows(10_000, fail_after=5000, seen=seen), stage.local_path, columns=COLUMNS))
    assert seen[-1] == 5001
    assert list_keys(s3_client, bucket) == (["exports/x.csv"] if existing else [])
    if existing:
        assert get_bytes(s3_client, bucket, "exports/x.csv") == OLD
    assert not os.path.exists(staging_dir)


def test_failed_upload_of_a_later_part_removes_every_temporary_key(s3_client, bucket, monkeypatch):
    s3_client.put_object(Bucket=bucket, Key="exports/x.part-00001.csv", Body=OLD)
    original = remote.RemoteStage._upload
    uploads = []

    def upload_then_fail_on_second(self, local, remote_tmp):
        original(self, local, remote_tmp)
        uploads.append(remote_tmp)
        if len(uploads) == 2:
            raise OSError("connection reset while uploading")

    monkeypatch.setattr(remote.RemoteStage, "_upload", upload_then_fail_on_second)
    with pytest.raises(OSError, match="connection reset"), staged_output(s3_path(bucket, "exports/x.csv")) as stage:
        stage.commit(write_csv(rows(300), stage.local_path, columns=COLUMNS, max_rows_per_file=100))
    assert len(uploads) == 2
    assert list_keys(s3_client, bucket) == ["exports/x.part-00001.csv"]
    assert get_bytes(s3_client, bucket, "exports/x.part-00001.csv") == OLD


def test_failed_copy_removes_parts_already_copied(s3_client, bucket, monkeypatch):
    fs = s3_path(bucket, "exports/x.csv").fs
    original = fs.copy
    copies = []

    def copy_fail_on_second(src, dst, **kwargs):
        copies.append(dst)
        if len(copies) == 2:
            raise PermissionError("AccessDenied on CopyObject")
        return original(src, dst, **kwargs)

    monkeypatch.setattr(fs, "copy", copy_fail_on_second)
    with pytest.raises(PermissionError, match="AccessDenied"), staged_output(s3_path(bucket, "exports/x.csv")) as stage:
        stage.commit(write_csv(rows(300), stage.local_path, columns=COLUMNS, max_rows_per_file=100))
    assert copies == [f"{bucket}/exports/x.part-00001.csv", f"{bucket}/exports/x.part-00002.csv"]
    assert list_keys(s3_client, bucket) == []


@pytest.mark.parametrize("existing_key", ["exports/x.csv", "exports/x.part-00001.csv"])
def test_overwrite_false_fails_before_reading_rows(s3_client, bucket, existing_key):
    s3_client.put_object(Bucket=bucket, Key=existing_key, Body=OLD)
    seen: list[int] = []
    message = f"output object s3://{bucket}/{existing_key} already exists and overwrite=False"
    with (
        pytest.raises(OutputExistsError, match=re.escape(message)),
        staged_output(s3_path(bucket, "exports/x.csv"), overwrite=False) as stage,
    ):
        stage.commit(write_csv(rows(10, seen=seen), stage.local_path, columns=COLUMNS, overwrite=False))
    assert seen == []
    assert list_keys(s3_client, bucket) == [existing_key]
    assert get_bytes(s3_client, bucket, existing_key) == OLD


def test_overwrite_false_writes_a_new_object(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key="exports/other.csv", Body=OLD)
    with staged_output(s3_path(bucket, "exports/x.csv"), overwrite=False) as stage:
        result = stage.commit(write_csv(rows(5), stage.local_path, columns=COLUMNS, overwrite=False))
    assert list_keys(s3_client, bucket) == ["exports/other.csv", "exports/x.csv"]
    assert sha256(get_bytes(s3_client, bucket, "exports/x.csv")) == result.sha256


def test_leaving_the_block_without_commit_uploads_nothing(s3_client, bucket):
    with (
        pytest.raises(
            RuntimeError, match=re.escape(f"s3://{bucket}/exports/x.csv left without commit(); nothing was uploaded")
        ),
        staged_output(s3_path(bucket, "exports/x.csv")) as stage,
    ):
        write_csv(rows(5), stage.local_path, columns=COLUMNS)
        staging_dir = os.path.dirname(stage.local_path)
    assert list_keys(s3_client, bucket) == []
    assert not os.path.exists(staging_dir)


def test_commit_refuses_a_file_written_outside_the_staging_directory(s3_client, bucket, tmp_path):
    elsewhere = write_csv(rows(3), tmp_path / "x.csv", columns=COLUMNS)
    message = f"exported file {tmp_path / 'x.csv'} was not written in the staging directory"
    with pytest.raises(OutputError, match=re.escape(message)), staged_output(s3_path(bucket, "exports/x.csv")) as stage:
        stage.commit(elsewhere)
    assert list_keys(s3_client, bucket) == []


# -- local targets ------------------------------------------------------------------------


def test_file_uri_writes_locally_inside_the_export_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with staged_output(f"file://{root}/daily/x.csv", export_root=root) as stage:
        assert stage.local_path == os.path.realpath(root / "daily" / "x.csv")
        written = write_csv(rows(4), stage.local_path, columns=COLUMNS)
        result = stage.commit(written)
    assert result is written and result.path == str(root / "daily" / "x.csv")
    assert (root / "daily" / "x.csv").read_bytes() == (
        b"id,name,amount\r\n1,name 1,1.5\r\n2,name 2,3.0\r\n3,name 3,4.5\r\n4,name 4,6.0\r\n"
    )
    assert sorted(p.name for p in (root / "daily").iterdir()) == ["x.csv"]


def test_file_uri_outside_the_export_root_is_refused_before_any_write(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with (
        pytest.raises(ExportPathError, match="outside the export root"),
        staged_output(f"file://{tmp_path}/x.csv", export_root=root),
    ):
        pytest.fail("the block must not run")
    assert not (tmp_path / "x.csv").exists()


# -- the operator, end to end -------------------------------------------------------------


def test_csv_operator_exports_to_object_storage(s3_client, bucket):
    from airflow_export import ExportCsvOperator

    op = ExportCsvOperator(
        task_id="to_s3", rows=[{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Lima"}],
        output_path=ObjectStoragePath(f"s3://{bucket}/exports/op.csv", conn_id=CONN_ID),
    )
    meta = op.execute({})
    data = get_bytes(s3_client, bucket, "exports/op.csv")
    assert data == b"id,city\r\n1,Oslo\r\n2,Lima\r\n"
    assert meta["path"] == f"s3://{bucket}/exports/op.csv"
    assert meta["files"] == [{"path": meta["path"], "records": 2, "bytes": len(data), "sha256": sha256(data)}]
    assert list_keys(s3_client, bucket) == ["exports/op.csv"]

