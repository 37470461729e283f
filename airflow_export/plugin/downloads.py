"""The status of a requested run and the download of its files (ADR 0062).

* ``GET /export/requests/{dag_id}/{run_id}``: the run's ``state`` and ``files``: one entry per file an
  export task of that run recorded in its XCom (task_id, path, records, bytes, sha256, ``download_url``).
* ``GET /export/requests/{dag_id}/{run_id}/files/{task_id}/{n}`` (``?map_index=`` for mapped tasks):
  file ``n`` of that task's XCom, streamed with ``Content-Disposition``, ``Content-Length`` and its media type.

Both need the permission to read the DAG's task instances (the auth manager decides). A download serves
only a file an export of that run recorded, addressed by position, never by a path from the request;
and that recorded path is opened without following a symlink (``O_NOFOLLOW``), and served only when
the opened file lies inside the export root (checked on the open descriptor, so a path swapped
after the check cannot escape) and still has the recorded size.
"""

from __future__ import annotations

import mimetypes
import os
import stat
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from airflow_export.names import EXPORT_OPERATORS, EXPORT_POOL

router = APIRouter()
READ_TASKS = [Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))]
CHUNK = 1 << 20
#: Media types of the export formats (others: by file name).
MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".pdf": "application/pdf"}


class NotServed(PermissionError):
    """A recorded path that is not served: outside the export root, a symlink, or not a regular file."""


@dataclass(frozen=True)
class RunFile:
    """One file an export task of a run recorded.

    :param task_id: the export task.
    :param map_index: its map index (-1: not mapped).
    :param index: position in the task's ``files`` list.
    :param path: the recorded path (absolute, or an object-storage URL).
    :param records: data rows in the file.
    :param bytes: its recorded size.
    :param sha256: its recorded digest.
    """

    task_id: str
    map_index: int
    index: int
    path: str
    records: int
    bytes: int
    sha256: str

    @property
    def name(self) -> str:
        """The file's name (last path component)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def files_of(meta: Any, task_id: str, map_index: int) -> list[RunFile]:
    """The files an export's XCom metadata records (``files``, else the single ``path``)."""
    if not isinstance(meta, dict):
        return []
    entries = meta.get("files") or ([meta] if meta.get("path") else [])
    return [RunFile(task_id, map_index, n, str(f["path"]), int(f.get("records") or 0), int(f.get("bytes") or 0),
                    str(f.get("sha256") or "")) for n, f in enumerate(entries) if isinstance(f, dict) and f.get("path")]


def run_files(session: Any, dag_id: str, run_id: str) -> list[RunFile]:
    """Every file the successful export tasks of a run recorded, in task order."""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.models.xcom import XComModel
    from sqlalchemy import or_, select

    tis = session.scalars(select(TI).where(
        TI.dag_id == dag_id, TI.run_id == run_id, TI.state == "success",
        or_(TI.operator.in_(tuple(EXPORT_OPERATORS)), TI.pool == EXPORT_POOL),
    ).order_by(TI.task_id, TI.map_index)).all()
    found: list[RunFile] = []
    for ti in tis:
        row = session.scalars(XComModel.get_many(run_id=run_id, key="return_value", task_ids=ti.task_id,
                                                 dag_ids=dag_id, map_indexes=ti.map_index)).first()
        if row is not None:
            found += files_of(XComModel.deserialize_value(row), ti.task_id, ti.map_index)
    return found


def open_inside(path: str, root: str) -> tuple[int, os.stat_result]:
    """Open a recorded file for reading: not through a symlink, and only inside ``root``.

    :return: the open descriptor (the caller closes it) and its ``fstat``.
    :raises NotServed: relative path, a symlink as last component, the opened file outside ``root``
        (a symlinked folder on the way included), or not a regular file.
    :raises FileNotFoundError: the file is gone.
    """
    if not os.path.isabs(path):
        raise NotServed(f"recorded path {path!r} is not absolute")
    real_root = os.path.realpath(root)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise NotServed(f"{path!r} cannot be opened without following a symlink ({exc.strerror})") from None
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else os.path.realpath(path)
        if os.path.commonpath([opened, real_root]) != real_root:
            raise NotServed(f"{path!r} is outside the export root {root!r} (it is {opened!r})")
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotServed(f"{path!r} is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def media_type(name: str) -> str:
    """The media type of an exported file by its name (CSV as UTF-8 text, PDF, else by extension)."""
    base, ext = os.path.splitext(name.lower())
    if ext in MEDIA_TYPES:
        return MEDIA_TYPES[ext]
    guessed, encoding = mimetypes.guess_type(name)
    if encoding == "gzip":
        return "application/gzip"
    return guessed or "application/octet-stream"


def content_disposition(name: str) -> str:
    """``attachment`` with the file name (RFC 6266; ``filename*`` when it is not plain ASCII)."""
    quoted = urllib.parse.quote(name)
    if quoted != name or '"' in name:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{name}"'


def _stream(fd: int) -> Iterator[bytes]:
    with os.fdopen(fd, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def open_remote(uri: str, root: Any) -> tuple[Any, int]:
    """An object the export recorded, opened through the object-storage export root's connection.

    :param uri: the recorded ``s3://bucket/prefix/...`` URI.
    :param root: the :class:`~airflow_export.destinations.root.ExportRoot` in force.
    :returns: ``(ObjectStoragePath, size in bytes)``.
    :raises NotServed: the root is local, or ``uri`` is not below the root's prefix (``..`` included).
    :raises FileNotFoundError: no such object.
    """
    prefix = root.path.rstrip("/") + "/"
    if not root.is_remote:
        raise NotServed(f"{uri} is in object storage, but the export root {root.path} is local")
    if not uri.startswith(prefix) or any(part in ("", ".", "..") for part in uri[len(prefix):].split("/")):
        raise NotServed(f"{uri} is not below the export root {root.path}")
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(uri, conn_id=root.conn_id) if root.conn_id else ObjectStoragePath(uri)
    info = path.fs.info(path.path)  # FileNotFoundError when missing
    if info.get("type") == "directory":
        raise NotServed(f"{uri} is not a file")
    return path, int(info.get("size", 0))


def _stream_remote(path: Any) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def download_url(request: Request, dag_id: str, run_id: str, f: RunFile) -> str:
    """The absolute URL that downloads ``f``."""
    url = str(request.url_for("export_request_file", dag_id=dag_id, run_id=run_id, task_id=f.task_id, n=str(f.index)))
    return url + (f"?map_index={f.map_index}" if f.map_index != -1 else "")


def run_status(session: Any, request: Request, dag_id: str, run_id: str) -> dict[str, Any]:
    """The status document of a run (see the module docstring).

    :raises HTTPException: 404, no such run.
    """
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if run is None:
        raise HTTPException(404, f"DAG {dag_id!r} has no run {run_id!r}")
    files = run_files(session, dag_id, run_id)
    return {
        "dag_id": dag_id, "run_id": run_id, "state": str(getattr(run.state, "value", run.state)),
        "conf": run.conf or {},
        "start_date": run.start_date.isoformat() if run.start_date else None,
        "end_date": run.end_date.isoformat() if run.end_date else None,
        "files": [{"task_id": f.task_id, "map_index": f.map_index, "path": f.path, "records": f.records,
                   "bytes": f.bytes, "sha256": f.sha256, "download_url": download_url(request, dag_id, run_id, f)}
                  for f in files],
    }


@router.get("/requests/{dag_id}/{run_id}", name="export_request_status", dependencies=READ_TASKS)
def request_status(dag_id: str, run_id: str, request: Request) -> dict[str, Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return run_status(session, request, dag_id, run_id)


@router.get("/requests/{dag_id}/{run_id}/files/{task_id}/{n}", name="export_request_file", dependencies=READ_TASKS,
            response_class=StreamingResponse)
def request_file(dag_id: str, run_id: str, task_id: str, n: int, map_index: int = Query(-1)) -> StreamingResponse:
    from airflow.utils.session import create_session

    from airflow_export.destinations.root import export_root

    with create_session() as session:
        recorded = [f for f in run_files(session, dag_id, run_id) if (f.task_id, f.map_index, f.index) ==
                    (task_id, map_index, n)]
    if not recorded:
        raise HTTPException(404, f"run {run_id!r} of {dag_id!r} recorded no file {n} of task {task_id!r}")
    f = recorded[0]
    root = export_root()
    try:
        if "://" in f.path:
            remote, size = open_remote(f.path, root)
            body: Iterator[bytes] = _stream_remote(remote)  # opened when the response starts
        else:
            fd, info = open_inside(f.path, root.path)
            if info.st_size != f.bytes:
                os.close(fd)
            size, body = info.st_size, _stream(fd)
    except FileNotFoundError:
        raise HTTPException(410, f"{f.path} was recorded by the export but is no longer there") from None
    except NotServed as exc:
        raise HTTPException(403, f"not served: {exc}") from None
    if size != f.bytes:
        raise HTTPException(409, f"{f.path} has {size} bytes, the export recorded {f.bytes}: it changed")
    return StreamingResponse(body, media_type=media_type(f.name), headers={
        "Content-Length": str(size), "Content-Disposition": content_disposition(f.name),
        "X-Content-SHA256": f.sha256,
    })
