"""What ``output_path`` names: a local file inside the export root, or an object in object storage.

``output_path`` may be a local path, a ``file://`` URI, a remote URI such as
``s3://bucket/exports/x.csv`` (``s3://CONN_ID@bucket/...`` names the Airflow connection, as
Airflow's ``ObjectStoragePath`` reads it), or an Airflow ``ObjectStoragePath``. Remote file
systems are Airflow's (``airflow.sdk.io``): S3 needs ``apache-airflow-providers-amazon[s3fs]``.
The export root confines local targets only (ADR 0020).
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_export.destinations.root import RootLike, remote_output_uri, resolve_output_path
from airflow_export.destinations.root import export_root as root_in_force

LOCAL_PROTOCOLS = frozenset({"file", "local"})
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
        if self.remote_path is not None:
            return posixpath.basename(self.remote_path)
        return os.path.basename(self.local_path or "")

    @property
    def target(self) -> str:
        """The local path of a local target, else the URI (for logs and messages)."""
        return self.local_path or self.uri

    def remote_uri(self, remote_path: str) -> str:
        """``PROTOCOL://remote_path`` (e.g. ``s3://bucket/exports/x.csv``)."""
        return f"{self.protocol}://{remote_path.lstrip('/')}"


def _local(path: str | os.PathLike, export_root: RootLike) -> Destination:
    real = resolve_output_path(path, export_root)
    return Destination(uri=f"file://{real}", protocol="file", local_path=real)


def uri_scheme(text: str) -> str | None:
    """The lower-case scheme of a URI (``"s3"``, ``"file"``), or None for a plain path."""
    match = _URI.match(text)
    return match.group(1).lower() if match else None


def file_uri_path(uri: str) -> str:
    """The local path of a ``file://`` URI (``file:///abs/path`` or ``file://localhost/abs/path``).

    :raises ValueError: the URI names another host, or has a query or fragment.
    """
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"output_path {uri!r}: a file:// URI must name a local path (file:///abs/path), not host {parts.netloc!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"output_path {uri!r}: a file:// URI may not have a query or fragment")
    return unquote(parts.path)


def _remote(output_path: Any, protocol: str, conn_id: str | None) -> Destination:
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


def resolve_destination(output_path: Any, *, export_root: RootLike = None, conn_id: str | None = None) -> Destination:
    """Classify and check ``output_path`` without touching any remote storage.

    :param output_path: local path (str or ``os.PathLike``), ``file://`` URI, remote URI
        (``s3://bucket/key``, ``s3://CONN_ID@bucket/key``), ``ObjectStoragePath``, or a
        :class:`Destination` (returned as it is).
    :param export_root: the export root (an :class:`ExportRoot` resolved once by the caller, or
        a directory); None means the root in force (never "anywhere"); a plain path lies below it,
        also when it is object storage (``s3://bucket/prefix``: then the path names an object there,
        through the root's connection); ignored for remote URIs.
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
        scheme = uri_scheme(text)
        root = root_in_force(export_root) if scheme is None else None
        if root is not None and root.is_remote:  # a relative path below an object-storage root
            text, conn_id = remote_output_uri(text, root), conn_id or root.conn_id
            scheme = uri_scheme(text)
        if scheme is None:
            return _local(text, root)
        if scheme in LOCAL_PROTOCOLS:
            return _local(file_uri_path(text), export_root)
        from airflow.sdk import ObjectStoragePath

        output_path = ObjectStoragePath(text, conn_id=conn_id) if conn_id else ObjectStoragePath(text)
        protocol = output_path.protocol
    if isinstance(protocol, (tuple, list)):
        protocol = protocol[0]
    protocol = str(protocol or "file")
    if protocol in LOCAL_PROTOCOLS:
        return _local(output_path.path, export_root)
    return _remote(output_path, protocol, conn_id)
