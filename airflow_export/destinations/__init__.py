"""Where an export ends up: the export root, a local file (atomic), or object storage (staged).

:func:`staged_output` gives the writer a *local* path in every case, so the writers stream in
constant memory into their atomic temporary files; a remote target is uploaded on commit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from airflow_export.destinations.local import LocalStage
from airflow_export.destinations.remote import REMOTE_TEMP_MARKER, UPLOAD_BLOCK_BYTES, RemoteStage
from airflow_export.destinations.root import (
    ExportPathError,
    ExportRoot,
    RootLike,
    export_root,
    lexical_output_path,
    resolve_output_path,
)
from airflow_export.destinations.target import Destination, file_uri_path, resolve_destination, uri_scheme

__all__ = [
    "REMOTE_TEMP_MARKER",
    "UPLOAD_BLOCK_BYTES",
    "Destination",
    "ExportPathError",
    "ExportRoot",
    "LocalStage",
    "RemoteStage",
    "StagedOutput",
    "export_root",
    "file_uri_path",
    "lexical_output_path",
    "resolve_destination",
    "resolve_output_path",
    "staged_output",
    "uri_scheme",
]

#: What :func:`staged_output` yields.
StagedOutput = LocalStage | RemoteStage


@contextlib.contextmanager
def staged_output(
    output_path: Any,
    *,
    export_root: RootLike = None,
    overwrite: bool = True,
    conn_id: str | None = None,
    staging_dir: str | None = None,
) -> Iterator[StagedOutput]:
    """Give a writer a local path for ``output_path`` and publish its files atomically.

    Usage (the operators do this)::

        with staged_output(destination, overwrite=False) as stage:
            result = write_csv(rows, stage.local_path, overwrite=False)
            result = stage.commit(result)   # uploads when remote; result paths become s3://...

    :param output_path: a :class:`Destination` resolved by the caller, or anything
        :func:`resolve_destination` takes (then ``export_root`` and ``conn_id`` apply).
    :param export_root: export root for local targets; ignored for remote ones.
    :param overwrite: False: an existing file or remote object at the target (or its first
        part) fails here, before the block runs (and the writer checks local targets again).
    :param conn_id: Airflow connection for a plain remote URI.
    :param staging_dir: parent directory of the local staging directory (remote only).
    :yields: a :class:`LocalStage` or :class:`RemoteStage`; call ``commit`` with the writer's
        result inside the block.
    :raises RuntimeError: a remote block left without commit and without an exception
        (nothing was uploaded).
    :raises OutputExistsError: see ``overwrite``.
    :raises ValueError, ExportPathError: see :func:`resolve_destination`.
    """
    destination = resolve_destination(output_path, export_root=export_root, conn_id=conn_id)
    stage: StagedOutput
    if destination.is_remote:
        stage = RemoteStage(destination, overwrite=overwrite, staging_dir=staging_dir)
    else:
        stage = LocalStage(destination, overwrite=overwrite)
    try:
        stage.check_target()
        yield stage
        if destination.is_remote and not stage.committed:
            raise RuntimeError(f"staged output for {destination.uri} left without commit(); nothing was uploaded")
    finally:
        stage.cleanup()
