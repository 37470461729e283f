"""Where an export ends up: a local file, or an object in object storage (S3, GCS, ...).

``output_path`` may be a local path, a ``file://`` URI, a remote URI such as
``s3://bucket/exports/x.csv`` (``s3://CONN_ID@bucket/...`` names the Airflow connection, as
Airflow's ``ObjectStoragePath`` reads it), or an Airflow ``ObjectStoragePath``
(``ObjectStoragePath("s3://bucket/exports/x.csv", conn_id="aws_s3")``). Remote file systems are
Airflow's (``airflow.sdk.io``): S3 needs ``apache-airflow-providers-amazon[s3fs]``.

:func:`staged_output` gives the writer a *local* path in every case, so the writers keep
streaming in constant memory into their atomic temporary files
(:class:`~airflow_export.writers.frame.AtomicOutput`):

* local and ``file://`` targets: the writer writes the final path itself (resolved against
  the export root by :func:`airflow_export.paths.resolve_output_path`); nothing else happens;
* remote targets: the writer writes into a private local staging directory (same file
  name, so rolled parts are named as usual), and :meth:`StagedOutput.commit` uploads every
  file of the writer's :class:`~airflow_export.writers.frame.ExportResult`:

  1. each file is streamed (blocks of :data:`UPLOAD_BLOCK_BYTES`, a multipart upload on S3
     when larger; never read whole) to a temporary key in the target's folder,
     ``.NAME.airflow-export-tmp-<16 hex>``, and its size is checked;
  2. only when every file is uploaded, each temporary key is copied server-side to its
     final key (S3 has no rename; ``CopyObject`` makes the whole object appear at once);
  3. the temporary keys are deleted (a failure here is only logged: the export is
     already published); with rolled parts, parts ``N+1...`` left at the target by an
     earlier, longer run are deleted, as :class:`AtomicOutput` does locally.

  On an exception in the ``with`` block (the writer failed) nothing is uploaded. On an
  error during commit every temporary key is deleted, and so is every final key this
  commit had already copied (with several parts the set never mixes two runs). The local
  staging directory is always removed. An object stands at a final key only whole.

The export root (:mod:`airflow_export.paths`) confines local writes only: it applies to
plain paths and ``file://`` URIs, never to remote URIs (object storage access is governed by
the connection's credentials and the bucket's policy).

Limits: the staging directory needs free disk for the whole export (all parts) until the
commit; temporary keys of a run killed with SIGKILL stay in the bucket (name pattern above;
an S3 lifecycle rule on it, and ``AbortIncompleteMultipartUpload``, cleans them). Parts become
visible one after the other during step 2, not in one transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import posixpath
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_export.paths import ExportRoot, resolve_output_path
from airflow_export.writers.frame import (
    ExportedFile,
    ExportResult,
    OutputError,
    OutputExistsError,
    check_name_length,
    existing_outputs,
    part_path,
)

__all__ = [
    "REMOTE_TEMP_MARKER",
    "UPLOAD_BLOCK_BYTES",
    "Destination",
    "StagedOutput",
    "resolve_destination",
    "staged_output",
]

log = logging.getLogger(__name__)

#: Size of one upload block in bytes (one S3 multipart part; S3's minimum part is 5 MiB).
#: Upload memory is about one block, whatever the file size.
UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024
#: Marker in the name of a temporary key: ``.NAME.airflow-export-tmp-<16 hex>``.
REMOTE_TEMP_MARKER = ".airflow-export-tmp-"
LOCAL_PROTOCOLS = frozenset({"file", "local"})
_COPY_BUFFER_BYTES = 1024 * 1024
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclasses.dataclass(frozen=True)
class Destination:
    """A resolved ``output_path``.

    :param uri: the target as a URI: ``s3://bucket/key`` for a remote target (no connection
        id in it), ``file:///abs/path`` for a local one.
    :param protocol: ``"file"`` for local targets, else the URI scheme (``"s3"``, ``"gs"`` ...).
    :param local_path: absolute, symlink-free path for a local target (checked against the
        export root); None for a remote one.
    :param remote_path: the file system path of a remote target as its fsspec file system
        names it (``bucket/key`` for S3); None for a local one.
    :param conn_id: Airflow connection of a remote target (None: the file system's default
        credentials).
    :param storage: the ``ObjectStoragePath`` of a remote target (gives the file system).
    """

    uri: str
    protocol: str
    local_path: str | None = None
    remote_path: str | None = None
    conn_id: str | None = None
    storage: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def is_remote(self) -> bool:
        """True for object storage, False for a local file."""
        return self.remote_path is not None

    @property
    def name(self) -> str:
        """The file name (last path segment), e.g. ``x.csv``."""
        return posixpath.basename(self.remote_path) if self.is_remote else os.path.basename(self.local_path or "")

    def remote_uri(self, remote_path: str) -> str:
        """``PROTOCOL://remote_path`` (e.g. ``s3://bucket/exports/x.csv``)."""
        return f"{self.protocol}://{remote_path.lstrip('/')}"


def _local(path: str | os.PathLike, export_root: ExportRoot | str | os.PathLike | None) -> Destination:
    real = resolve_output_path(path, export_root)
    return Destination(uri=f"file://{real}", protocol="file", local_path=real)


def _file_uri_path(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"output_path {uri!r}: a file:// URI must name a local path (file:///abs/path), not host {parts.netloc!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"output_path {uri!r}: a file:// URI may not have a query or fragment")
    return unquote(parts.path)


def resolve_destination(
    output_path: Any, *, export_root: ExportRoot | str | os.PathLike | None = None, conn_id: str | None = None
) -> Destination:
    """Classify and check ``output_path`` without touching any storage.

    :param output_path: local path (str or ``os.PathLike``), ``file://`` URI, remote URI
        (``s3://bucket/key``, ``s3://CONN_ID@bucket/key``), or ``ObjectStoragePath``.
    :param export_root: the export root for local targets (see :mod:`airflow_export.paths`);
        None means the root in force (never "anywhere"); ignored for remote targets.
    :param conn_id: Airflow connection for a remote target given as a plain URI; an
        ``ObjectStoragePath`` (or ``CONN_ID@`` in the URI) carries its own.
    :returns: the :class:`Destination`.
    :raises ExportPathError: a local target outside the export root.
    :raises ValueError: an empty path; a remote path without a bucket or object name
        (``s3://bucket``, ``s3://bucket/folder/``); a ``file://`` URI naming a host; a
        ``conn_id`` that contradicts the path's own.
    """
    if isinstance(output_path, Destination):
        return output_path
    protocol = getattr(output_path, "protocol", None)
    if protocol is None:
        text = os.fspath(output_path)
        match = _URI.match(text)
        if match is None:
            return _local(text, export_root)
        scheme = match.group(1).lower()
        if scheme in LOCAL_PROTOCOLS:
            return _local(_file_uri_path(text), export_root)
        from airflow.sdk import ObjectStoragePath

        output_path = ObjectStoragePath(text, conn_id=conn_id) if conn_id else ObjectStoragePath(text)
        protocol = output_path.protocol
    if isinstance(protocol, (tuple, list)):
        protocol = protocol[0]
    protocol = str(protocol or "file")
    if protocol in LOCAL_PROTOCOLS:
        return _local(output_path.path, export_root)
    own_conn = getattr(output_path, "conn_id", None)
    if conn_id and own_conn and conn_id != own_conn:
        raise ValueError(f"output_path {output_path} uses connection {own_conn!r}, but conn_id={conn_id!r} was given")
    key = getattr(output_path, "key", None)
    remote_path = str(output_path.path)
    bucket = remote_path.lstrip("/").split("/", 1)[0]
    if key is None:
        key = remote_path.lstrip("/").split("/", 1)[1] if "/" in remote_path.lstrip("/") else ""
    if not bucket or not key or key.endswith("/"):
        raise ValueError(
            f"output_path {protocol}://{remote_path}: expected {protocol}://BUCKET/KEY naming an object "
            "(a file name, not a bucket or folder)"
        )
    return Destination(
        uri=f"{protocol}://{remote_path.lstrip('/')}", protocol=protocol, remote_path=remote_path,
        conn_id=own_conn or conn_id, storage=output_path,
    )


class StagedOutput:
    """The local path a writer writes to, and the step that publishes its files.

    Made by :func:`staged_output`; use :attr:`local_path` for the writer, then pass the
    writer's result to :meth:`commit`.

    :param destination: the resolved target.
    :param overwrite: replace existing objects; False fails on an existing object.
    :param staging_dir: parent of the private staging directory (default: the system's
        temporary directory, ``TMPDIR``); remote targets only.
    """

    def __init__(self, destination: Destination, *, overwrite: bool = True, staging_dir: str | None = None) -> None:
        self.destination = destination
        self.overwrite = overwrite
        self._stage_dir: str | None = None
        self._temp_keys: list[str] = []
        self._copied: list[str] = []
        self.committed = False
        if destination.is_remote:
            self._stage_dir = tempfile.mkdtemp(prefix="airflow-export-stage-", dir=staging_dir)
            self.local_path = os.path.join(self._stage_dir, destination.name)
        else:
            self.local_path = destination.local_path

    @property
    def fs(self) -> Any:
        """The fsspec file system of a remote target (Airflow's, authenticated by its connection)."""
        return self.destination.storage.fs

    # -- checks ---------------------------------------------------------------------------

    def _exists(self, remote_path: str) -> bool:
        fs = self.fs
        with contextlib.suppress(Exception):
            fs.invalidate_cache(posixpath.dirname(remote_path))
        return bool(fs.exists(remote_path))

    def check_target(self) -> None:
        """Fail before any work: a local file name too long for its temporary names; with
        ``overwrite=False``, a target (or its first part) that already exists.

        :raises OutputExistsError: a file stands at ``NAME`` or any ``NAME.part-NNNNN.EXT`` (local),
            or an object at ``NAME`` or ``NAME.part-00001.EXT`` (remote).
        :raises OutputError: ``ENAMETOOLONG`` (see :func:`~airflow_export.writers.frame.check_name_length`).
        """
        if not self.destination.is_remote:
            # Before the query, not after it: the writer would find these only once rows arrive.
            local = self.destination.local_path
            check_name_length(local)
            if os.path.isdir(local):
                raise OutputError(errno.EISDIR, f"output path {local} is a directory, expected a file path")
        if self.overwrite:
            return
        if not self.destination.is_remote:
            # The writer checks again (and links atomically at the end).
            if existing := existing_outputs(local):
                raise OutputExistsError(errno.EEXIST, f"output file {existing[0]} already exists and overwrite=False")
            return
        target = self.destination.remote_path
        for candidate in (target, part_path(target, 1)):
            if self._exists(candidate):
                raise OutputExistsError(
                    errno.EEXIST, f"output object {self.destination.remote_uri(candidate)} already exists and overwrite=False"
                )

    # -- commit ---------------------------------------------------------------------------

    def _remote_for(self, exported: ExportedFile) -> str:
        local = os.path.realpath(exported.path)
        stage = os.path.realpath(self._stage_dir or "")
        if os.path.dirname(local) != stage:
            raise OutputError(errno.EINVAL, f"exported file {exported.path} was not written in the staging directory {stage}")
        return posixpath.join(posixpath.dirname(self.destination.remote_path), os.path.basename(local))

    def _upload(self, local: str, remote_tmp: str) -> None:
        fs = self.fs
        size = os.path.getsize(local)
        with open(local, "rb") as src:
            dst = fs.open(remote_tmp, "wb", block_size=UPLOAD_BLOCK_BYTES)
            self._temp_keys.append(remote_tmp)
            try:
                shutil.copyfileobj(src, dst, _COPY_BUFFER_BYTES)
            except BaseException:
                discard = getattr(dst, "discard", None)
                with contextlib.suppress(Exception):
                    if discard is not None:
                        discard()
                    else:
                        dst.close()
                raise
            dst.close()
        stored = fs.info(remote_tmp).get("size")
        if stored != size:
            raise OutputError(errno.EIO, f"upload of {local} to {remote_tmp} stored {stored} bytes, expected {size}")

    def commit(self, result: ExportResult) -> ExportResult:
        """Publish the writer's files and return the result with their final locations.

        :param result: what the writer returned for :attr:`local_path`.
        :returns: ``result`` itself for a local target; for a remote one, a copy whose
            ``path`` and ``files[i].path`` are the final URIs (``s3://bucket/key``), with
            records, bytes and sha256 unchanged.
        :raises OutputExistsError: ``overwrite=False`` and a final key appeared meanwhile.
        :raises OutputError: a file was not written in the staging directory; an upload
            stored a different size.
        :raises OSError: the storage failed (after the cleanup described in the module).
        """
        if self.committed:
            raise RuntimeError("this staged output was already committed")
        self.committed = True
        if not self.destination.is_remote:
            return result
        fs = self.fs
        try:
            plan = []
            for exported in result.files:
                final = self._remote_for(exported)
                tmp = posixpath.join(
                    posixpath.dirname(final), f".{posixpath.basename(final)}{REMOTE_TEMP_MARKER}{secrets.token_hex(8)}"
                )
                self._upload(exported.path, tmp)
                plan.append((exported, final, tmp))
            if not self.overwrite:
                for _, final, _ in plan:
                    if self._exists(final):
                        raise OutputExistsError(
                            errno.EEXIST, f"output object {self.destination.remote_uri(final)} already exists and overwrite=False"
                        )
            for _, final, tmp in plan:
                fs.copy(tmp, final)
                self._copied.append(final)
        except BaseException:
            self._rollback()
            raise
        self._copied = []  # published: from here on the final keys stay
        self._rollback()  # delete the temporary keys (a failure is logged, not raised)
        self._remove_stale_parts([final for _, final, _ in plan])
        files = tuple(dataclasses.replace(f, path=self.destination.remote_uri(final)) for f, final, _ in plan)
        return dataclasses.replace(result, path=files[0].path if files else self.destination.uri, files=files)

    def _remove_stale_parts(self, finals: list[str]) -> None:
        target = self.destination.remote_path
        rolled = bool(finals) and finals == [part_path(target, i) for i in range(1, len(finals) + 1)]
        if not rolled:
            return
        index = len(finals) + 1
        while self._exists(stale := part_path(target, index)):
            self.fs.rm_file(stale)
            index += 1

    def _rollback(self) -> None:
        for key in [*self._temp_keys, *self._copied]:
            try:
                self.fs.rm_file(key)
            except FileNotFoundError:
                pass
            except Exception:  # keep the original error; say what is left behind
                log.warning("could not remove %s after a failed export", self.destination.remote_uri(key), exc_info=True)
        self._temp_keys = []
        self._copied = []

    def cleanup(self) -> None:
        """Remove temporary keys left (on failure) and the local staging directory."""
        if self._temp_keys:
            self._rollback()
        if self._stage_dir is not None:
            shutil.rmtree(self._stage_dir, ignore_errors=True)
            self._stage_dir = None


@contextlib.contextmanager
def staged_output(
    output_path: Any,
    *,
    export_root: str | os.PathLike | None = None,
    overwrite: bool = True,
    conn_id: str | None = None,
    staging_dir: str | None = None,
) -> Iterator[StagedOutput]:
    """Give a writer a local path for ``output_path`` and publish its files atomically.

    Usage (the operators do this)::

        with staged_output(output_path, export_root=root, overwrite=False) as stage:
            result = write_csv(rows, stage.local_path, overwrite=False)
            result = stage.commit(result)   # uploads when remote; result paths become s3://...

    :param output_path: see :func:`resolve_destination` (local path, ``file://``,
        ``s3://...``, ``ObjectStoragePath``, or a :class:`Destination`).
    :param export_root: export root for local targets; ignored for remote ones.
    :param overwrite: False: an existing file or remote object at the target (or its first
        part) fails here, before the block runs (and the writer checks local targets again).
    :param conn_id: Airflow connection for a plain remote URI.
    :param staging_dir: parent directory of the local staging directory (remote only).
    :yields: :class:`StagedOutput`; call :meth:`StagedOutput.commit` with the writer's
        result inside the block. Leaving a remote block without commit and without an
        exception uploads nothing and raises :class:`RuntimeError`.
    :raises OutputExistsError: see ``overwrite``.
    :raises ValueError, ExportPathError: see :func:`resolve_destination`.
    """
    destination = resolve_destination(output_path, export_root=export_root, conn_id=conn_id)
    stage = StagedOutput(destination, overwrite=overwrite, staging_dir=staging_dir)
    try:
        stage.check_target()
        yield stage
        if destination.is_remote and not stage.committed:
            raise RuntimeError(f"staged output for {destination.uri} left without commit(); nothing was uploaded")
    finally:
        stage.cleanup()
