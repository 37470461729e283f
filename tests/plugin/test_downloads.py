"""What a download may serve: only recorded files, inside the export root, not through symlinks."""

from __future__ import annotations

import os

import pytest

from airflow_export.plugin.downloads import NotServed, content_disposition, files_of, media_type, open_inside


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "exports"
    (root / "dag" / "run").mkdir(parents=True)
    (root / "dag" / "run" / "records.csv").write_bytes(b"id\n1\n")
    return root


def read(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def test_a_file_inside_the_root_opens(root):
    fd, info = open_inside(str(root / "dag" / "run" / "records.csv"), str(root))
    assert (info.st_size, read(fd)) == (5, b"id\n1\n")


def test_traversal_out_of_the_root_is_refused(root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    for path in (str(root / ".." / "secret.txt"), str(root / "dag" / "run" / ".." / ".." / ".." / "secret.txt"),
                 str(secret)):
        with pytest.raises(NotServed, match="outside the export root"):
            open_inside(path, str(root))
    with pytest.raises(NotServed, match="not absolute"):
        open_inside("dag/run/records.csv", str(root))


def test_symlinks_are_refused(root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (root / "dag" / "run" / "link.csv").symlink_to(secret)
    with pytest.raises(NotServed, match="symlink"):
        open_inside(str(root / "dag" / "run" / "link.csv"), str(root))
    # even a symlink to a file inside the root: the recorded path must be the file itself
    (root / "dag" / "run" / "inner.csv").symlink_to(root / "dag" / "run" / "records.csv")
    with pytest.raises(NotServed, match="symlink"):
        open_inside(str(root / "dag" / "run" / "inner.csv"), str(root))
    # a symlinked folder on the way that leads outside
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "records.csv").write_text("x")
    (root / "dag" / "evil").symlink_to(outside)
    with pytest.raises(NotServed, match="outside the export root"):
        open_inside(str(root / "dag" / "evil" / "records.csv"), str(root))


def test_a_folder_or_a_missing_file(root):
    with pytest.raises(NotServed, match="not a regular file"):
        open_inside(str(root / "dag" / "run"), str(root))
    with pytest.raises(FileNotFoundError):
        open_inside(str(root / "dag" / "run" / "gone.csv"), str(root))


def test_files_of_reads_the_xcom_metadata():
    meta = {"path": "/r/a.part-00001.csv", "files": [
        {"path": "/r/a.part-00001.csv", "records": 10, "bytes": 100, "sha256": "ab"},
        {"path": "/r/a.part-00002.csv", "records": 5, "bytes": 50, "sha256": "cd"},
    ]}
    files = files_of(meta, "export_csv", -1)
    assert [(f.index, f.name, f.records, f.bytes, f.sha256) for f in files] == [
        (0, "a.part-00001.csv", 10, 100, "ab"), (1, "a.part-00002.csv", 5, 50, "cd")]
    assert [f.path for f in files_of({"path": "/r/one.pdf", "bytes": 3}, "t", 2)] == ["/r/one.pdf"]
    assert files_of("not a dict", "t", -1) == [] and files_of({"files": [{"records": 1}]}, "t", -1) == []


def test_media_types_and_content_disposition():
    assert media_type("records.csv") == "text/csv; charset=utf-8"
    assert media_type("records.part-00002.pdf") == "application/pdf"
    assert media_type("records.csv.gz") == "application/gzip"
    assert media_type("noext") == "application/octet-stream"
    assert content_disposition("records.csv") == 'attachment; filename="records.csv"'
    assert content_disposition("bücher 1.csv") == "attachment; filename*=utf-8''b%C3%BCcher%201.csv"
    assert content_disposition('a"b.csv') == "attachment; filename*=utf-8''a%22b.csv"
