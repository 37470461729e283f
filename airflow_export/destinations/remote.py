"""A remote target: the writer writes a private local staging directory, then every file is
uploaded to a temporary key and copied server-side into place (the protocol and its limits: ADR 0023).

Temporary keys are named ``.NAME.airflow-export-tmp-<16 hex>`` beside the target.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import posixpath
import secrets
import shutil
import tempfile
from typing import Any

from airflow_export.destinations.target import Destination
from airflow_export.writers.frame import ExportedFile, ExportResult, OutputError, OutputExistsError, part_path

log = logging.getLogger(__name__)

#: Size of one upload block in bytes (one S3 multipart part; S3's minimum part is 5 MiB).
#: Upload memory is about one block, whatever the file size.
UPLOAD_BLOCK_BYTES = 8 * 1024 * 1024
#: Marker in the name of a temporary key: ``.NAME.airflow-export-tmp-<16 hex>``.
REMOTE_TEMP_MARKER = ".airflow-export-tmp-"
_COPY_BUFFER_BYTES = 1024 * 1024


class RemoteStage:
    """The staged output of a remote target (made by :func:`~airflow_export.destinations.staged_output`).

    The writer writes :attr:`local_path` (a private staging directory, same file name, so
    rolled parts are named as usual); :meth:`commit` publishes every file of its result.

    :param destination: a resolved remote target.
    :param overwrite: replace existing objects; False fails on an existing object.
    :param staging_dir: parent of the private staging directory (default: the system's
        temporary directory, ``TMPDIR``); it needs free space for the whole export.
    """

    def __init__(self, destination: Destination, *, overwrite: bool = True, staging_dir: str | None = None) -> None:
        if destination.remote_path is None:
            raise ValueError(f"{destination.uri} is not a remote target")
        self.destination = destination
        self.remote_path: str = destination.remote_path
        self.overwrite = overwrite
        self._temp_keys: list[str] = []
        self._copied: list[str] = []
        self.committed = False
        self._stage_dir: str | None = tempfile.mkdtemp(prefix="airflow-export-stage-", dir=staging_dir)
        self.local_path = os.path.join(self._stage_dir, destination.name)

    @property
    def fs(self) -> Any:
        """The fsspec file system of the target (Airflow's, authenticated by its connection)."""
        return self.destination.storage.fs

    def _exists(self, remote_path: str) -> bool:
        fs = self.fs
        with contextlib.suppress(Exception):
            fs.invalidate_cache(posixpath.dirname(remote_path))
        return bool(fs.exists(remote_path))

    def _refuse_existing(self, remote_path: str) -> None:
        if self._exists(remote_path):
            raise OutputExistsError(
                errno.EEXIST,
                f"output object {self.destination.remote_uri(remote_path)} already exists and overwrite=False",
            )

    def check_target(self) -> None:
        """With ``overwrite=False``, fail before any work when an object stands at ``NAME`` or
        ``NAME.part-00001.EXT``.

        :raises OutputExistsError: such an object exists.
        """
        if not self.overwrite:
            for candidate in (self.remote_path, part_path(self.remote_path, 1)):
                self._refuse_existing(candidate)

    def _remote_for(self, exported: ExportedFile) -> str:
        local = os.path.realpath(exported.path)
        stage = os.path.realpath(self._stage_dir or "")
        if os.path.dirname(local) != stage:
            raise OutputError(
                errno.EINVAL, f"exported file {exported.path} was not written in the staging directory {stage}"
            )
        return posixpath.join(posixpath.dirname(self.remote_path), os.path.basename(local))

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
        """Upload the writer's files, copy them into place, and return the result with their final URIs.

        :param result: what the writer returned for :attr:`local_path`.
        :returns: a copy of ``result`` whose ``path`` and ``files[i].path`` are the final URIs
            (``s3://bucket/key``), with records, bytes and sha256 unchanged.
        :raises OutputExistsError: ``overwrite=False`` and a final key appeared meanwhile.
        :raises OutputError: a file was not written in the staging directory; an upload
            stored a different size.
        :raises OSError: the storage failed (every temporary key, and every final key this
            commit had already copied, is deleted first).
        :raises RuntimeError: called twice.
        """
        if self.committed:
            raise RuntimeError("this staged output was already committed")
        self.committed = True
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
                    self._refuse_existing(final)
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
        target = self.remote_path
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
                log.warning(
                    "could not remove %s after a failed export", self.destination.remote_uri(key), exc_info=True
                )
        self._temp_keys = []
        self._copied = []

    def cleanup(self) -> None:
        """Remove temporary keys left (on failure) and the local staging directory."""
        if self._temp_keys:
            self._rollback()
        if self._stage_dir is not None:
            shutil.rmtree(self._stage_dir, ignore_errors=True)
            self._stage_dir = None
