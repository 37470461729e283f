"""An export root on object storage, configured once (``[export] root`` = ``s3://bucket/prefix`` and
``[export] root_conn_id``, ADR 0065): relative ``output_path`` values name objects below the prefix.

Runs against the moto S3 server on loopback (see conftest).
"""

from __future__ import annotations

import glob
import os
import re
import tempfile

import pytest
from airflow.sdk import Asset

from airflow_export import ExportCsvOperator, export_asset
from airflow_export.destinations import ExportPathError, export_root, resolve_destination
from airflow_export.destinations.root import remote_output_uri
from airflow_export.names import EXPORT_ROOT_CONN_ENV, EXPORT_ROOT_ENV, WORKER_ENV

from .conftest import CONN_ID
from .test_destinations import get_bytes, list_keys, sha256


@pytest.fixture()
def s3_root(monkeypatch, bucket):
    """``[export] root`` = ``s3://<bucket>/exports`` with connection ``aws_s3``, through Airflow's config."""
    monkeypatch.delenv(EXPORT_ROOT_ENV, raising=False)
    monkeypatch.delenv(EXPORT_ROOT_CONN_ENV, raising=False)
    monkeypatch.setenv("AIRFLOW__EXPORT__ROOT", f"s3://{bucket}/exports")
    monkeypatch.setenv("AIRFLOW__EXPORT__ROOT_CONN_ID", CONN_ID)
    return f"s3://{bucket}/exports"


def test_the_configured_root_and_its_connection_are_read_from_airflow_config(s3_root):
    root = export_root()
    assert (root.path, root.source, root.conn_id, root.is_remote) == (s3_root, "[export] root", CONN_ID, True)


def test_the_environment_variables_override_the_config(s3_root, monkeypatch):
    monkeypatch.setenv(EXPORT_ROOT_ENV, "s3://other/p")
    monkeypatch.setenv(EXPORT_ROOT_CONN_ENV, "other_conn")
    root = export_root()
    assert (root.path, root.source, root.conn_id) == ("s3://other/p", EXPORT_ROOT_ENV, "other_conn")


def test_a_local_root_has_no_connection(monkeypatch, tmp_path):
    monkeypatch.setenv(EXPORT_ROOT_ENV, str(tmp_path))
    monkeypatch.setenv(EXPORT_ROOT_CONN_ENV, CONN_ID)
    root = export_root()
    assert (root.is_remote, root.conn_id) == (False, None)


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("a.csv", "s3://bkt/pre/fix/a.csv"),
        ("run/1/b.pdf", "s3://bkt/pre/fix/run/1/b.pdf"),
        ("run/../c.csv", "s3://bkt/pre/fix/c.csv"),
    ],
)
def test_relative_paths_name_objects_below_the_prefix(path, uri):
    assert remote_output_uri(path, export_root("s3://bkt/pre/fix/")) == uri


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("../x.csv", ExportPathError, "outside the export root s3://bkt/pre"),
        ("a/../../pre2/x.csv", ExportPathError, "resolves to s3://bkt/pre2/x.csv, outside"),
        ("/tmp/x.csv", ExportPathError, "is a local path, but the export root is s3://bkt/pre"),
        ("run/", ValueError, "names a directory"),
    ],
)
def test_paths_leaving_the_prefix_are_refused(path, error, message):
    with pytest.raises(error, match=re.escape(message)):
        remote_output_uri(path, export_root("s3://bkt/pre"))


def test_a_relative_output_path_resolves_to_an_object_with_the_roots_connection(s3_root, bucket):
    dest = resolve_destination("batch/run 1/x.csv")
    assert (dest.uri, dest.conn_id, dest.is_remote) == (f"s3://{bucket}/exports/batch/run 1/x.csv", CONN_ID, True)
    assert dest.storage.conn_id == CONN_ID


def test_a_file_uri_is_refused_under_an_object_storage_root(s3_root):
    with pytest.raises(ExportPathError, match="is a local target, but the export root is s3://"):
        resolve_destination("file:///tmp/x.csv")


def test_the_default_asset_of_a_static_path_is_the_object(s3_root, bucket):
    assert export_asset("flights/latest/d.csv") == Asset(uri=f"{s3_root}/flights/latest/d.csv")
    op = ExportCsvOperator(task_id="t", rows=[{"a": 1}], output_path="flights/latest/d.csv")
    assert [o.uri for o in op.outlets] == [f"{s3_root}/flights/latest/d.csv"]


def test_the_operator_exports_below_the_root_and_leaves_no_staging_file(s3_root, bucket, s3_client, monkeypatch):
    staging = tempfile.mkdtemp(prefix="celery11-stage-")
    monkeypatch.setenv("TMPDIR", staging)
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    monkeypatch.setenv(WORKER_ENV, "w2")
    op = ExportCsvOperator(task_id="t", rows=[{"id": 1, "city": "Oslo"}], output_path="runs/r1/op.csv")
    meta = op.execute({})
    data = get_bytes(s3_client, bucket, "exports/runs/r1/op.csv")
    assert data == b"id,city\r\n1,Oslo\r\n"
    assert (meta["path"], meta["files"][0]["sha256"]) == (f"{s3_root}/runs/r1/op.csv", sha256(data))
    assert meta["worker"] == "w2"
    assert list_keys(s3_client, bucket) == ["exports/runs/r1/op.csv"]
    assert glob.glob(os.path.join(staging, "*")) == []  # the staging directory was removed on success

    op = ExportCsvOperator(task_id="t2", rows=[{"id": 1}], output_path="runs/r1/bad.csv")
    monkeypatch.setattr(type(op), "open_source", _broken_source)
    with pytest.raises(Exception, match="source broke"):
        op.execute({})
    assert list_keys(s3_client, bucket) == ["exports/runs/r1/op.csv"]  # nothing at the failed key
    assert glob.glob(os.path.join(staging, "*")) == []  # ... and removed on failure too


def _broken_source(self):
    import contextlib

    from airflow_export.sources.base import RowSource

    def rows():
        yield [1]
        raise RuntimeError("source broke")

    return contextlib.nullcontext(RowSource(["id"], rows(), "a broken source"))


def test_without_the_operator_env_no_worker_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv(EXPORT_ROOT_ENV, str(tmp_path))
    monkeypatch.delenv(WORKER_ENV, raising=False)
    meta = ExportCsvOperator(task_id="t", rows=[{"a": 1}], output_path="x.csv").execute({})
    assert "worker" not in meta


def test_the_validation_evidence_lists_objects_below_the_root(s3_root, bucket, s3_client):
    from airflow_export.validation.evidence import list_exports

    s3_client.put_object(Bucket=bucket, Key="exports/b/r1/a.csv", Body=b"abc")
    s3_client.put_object(Bucket=bucket, Key="exports/b/r1/sub/c.pdf", Body=b"12345")
    s3_client.put_object(Bucket=bucket, Key="exports/b/r2/other.csv", Body=b"x")
    assert list_exports(f"{s3_root}/b/r1", CONN_ID) == [
        {"path": f"{s3_root}/b/r1/a.csv", "bytes": 3}, {"path": f"{s3_root}/b/r1/sub/c.pdf", "bytes": 5}]
    assert list_exports(f"{s3_root}/b/none", CONN_ID) == []
