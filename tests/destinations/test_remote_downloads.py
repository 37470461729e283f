"""The plugin's downloads of files an export wrote below an object-storage export root (moto's S3)."""

from __future__ import annotations

import pytest

from airflow_export import ExportCsvOperator
from airflow_export.destinations import export_root
from airflow_export.plugin.downloads import NotServed, _stream_remote, open_remote

from .test_remote_root import s3_root  # noqa: F401  (fixture)


def test_an_exported_object_is_read_back_through_the_roots_connection(s3_root):  # noqa: F811
    meta = ExportCsvOperator(task_id="t", rows=[[1, "a"], [2, "b"]], columns=["n", "s"],
                             output_path="runs/r1/x.csv").execute({})
    root = export_root()
    path, size = open_remote(meta["path"], root)
    body = b"".join(_stream_remote(path))
    assert size == meta["bytes"] == len(body) and body == b"n,s\r\n1,a\r\n2,b\r\n"


@pytest.mark.parametrize("suffix", ["../../other/x.csv", "runs/../../x.csv", "runs//x.csv", "runs/./x.csv"])
def test_only_objects_below_the_root_are_served(s3_root, suffix):  # noqa: F811
    root = export_root()
    with pytest.raises(NotServed, match="is not below the export root"):
        open_remote(f"{root.path}/{suffix}", root)
    with pytest.raises(NotServed, match="is not below the export root"):
        open_remote("s3://another-bucket/exports/x.csv", root)


def test_a_missing_object_is_not_found(s3_root):  # noqa: F811
    root = export_root()
    with pytest.raises(FileNotFoundError):
        open_remote(f"{root.path}/runs/none.csv", root)
