"""The export root: the one directory outside of which no export writes (ADR 0020).

The root is the operator's ``export_root`` argument, else ``AIRFLOW_EXPORT_ROOT``, else
Airflow's ``[export] root`` (``AIRFLOW__EXPORT__ROOT``), else ``$AIRFLOW_HOME/exports``. A
relative ``output_path`` is taken relative to the root; an absolute one must lie inside it.

The root may be object storage, ``s3://bucket/prefix`` (ADR 0065): a relative ``output_path``
then names an object below that prefix, reached through the Airflow connection
``AIRFLOW_EXPORT_ROOT_CONN_ID``, else ``[export] root_conn_id``; a local path is refused.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from typing import NamedTuple

from airflow_export.names import CONFIG_SECTION, EXPORT_ROOT_CONN_ENV, EXPORT_ROOT_ENV

#: The folder below ``$AIRFLOW_HOME`` used as the export root when none is configured.
DEFAULT_ROOT_NAME = "exports"


class ExportPathError(PermissionError):
    """``output_path`` resolves outside the export root."""


class ExportRoot(NamedTuple):
    """The export root in force and where it came from.

    :param path: the root directory (as configured; not yet resolved).
    :param source: ``"argument"``, ``"AIRFLOW_EXPORT_ROOT"``, ``"[export] root"`` or
        ``"default"`` (``$AIRFLOW_HOME/exports``: nothing was configured).
    """

    path: str
    source: str

    @property
    def is_remote(self) -> bool:
        """True for an object-storage root (``s3://bucket/prefix``), False for a directory."""
        scheme = _SCHEME.match(self.path)
        return scheme is not None and scheme.group(1).lower() not in ("file", "local")

    @property
    def conn_id(self) -> str | None:
        """The Airflow connection of an object-storage root: ``AIRFLOW_EXPORT_ROOT_CONN_ID``, else
        ``[export] root_conn_id``; None for a directory (or the file system's default credentials)."""
        return (os.environ.get(EXPORT_ROOT_CONN_ENV) or _config("root_conn_id")) if self.is_remote else None

    @property
    def is_default(self) -> bool:
        """True when no root was configured and the default is in force."""
        return self.source == "default"


RootLike = ExportRoot | str | os.PathLike | None
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _airflow_home() -> str:
    home = os.environ.get("AIRFLOW_HOME")
    if home:
        return os.path.expanduser(home)
    try:
        from airflow.configuration import AIRFLOW_HOME
    except ImportError:  # pragma: no cover - writers used without Airflow
        return os.path.expanduser("~/airflow")
    return os.path.expanduser(AIRFLOW_HOME)


def _config(key: str) -> str | None:
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover - writers used without Airflow
        return None
    return conf.get(CONFIG_SECTION, key, fallback=None) or None


def configured_export_root() -> str | None:
    """The export root from ``AIRFLOW_EXPORT_ROOT`` or Airflow's ``[export] root``, or None."""
    return os.environ.get(EXPORT_ROOT_ENV) or _config("root")


def export_root(argument: RootLike = None) -> ExportRoot:
    """The export root in force: ``argument``, else the configured root, else ``$AIRFLOW_HOME/exports``.

    Pure lookup (environment and Airflow's loaded config); nothing is created or resolved on disk.
    An object-storage root's connection is :attr:`ExportRoot.conn_id`.
    """
    if isinstance(argument, ExportRoot):
        return argument
    if argument is not None and os.fspath(argument):
        return _absolute(ExportRoot(os.fspath(argument), "argument"))
    env = os.environ.get(EXPORT_ROOT_ENV)
    if env:
        return _absolute(ExportRoot(env, EXPORT_ROOT_ENV))
    configured = configured_export_root()
    if configured:
        return _absolute(ExportRoot(configured, f"[{CONFIG_SECTION}] root"))
    return ExportRoot(os.path.join(_airflow_home(), DEFAULT_ROOT_NAME), "default")


def _absolute(root: ExportRoot) -> ExportRoot:
    """``root`` if it is an absolute path or an object-storage URI.

    :raises ValueError: a relative root: it would name a different folder in every working
        directory (a worker's is arbitrary), so it is refused rather than guessed.
    """
    if "://" in root.path or os.path.isabs(root.path):
        return root
    raise ValueError(
        f"the export root {root.path!r} (from {root.source}) is a relative path, so it would depend on the task "
        "process's working directory; give an absolute path (or an object-storage URI)"
    )


def remote_output_uri(path: str, root: ExportRoot) -> str:
    """The object URI of a relative ``output_path`` below an object-storage root, from the text alone.

    :param path: a relative path (``export_batch/run/x.csv``).
    :param root: an object-storage root (``s3://bucket/prefix``).
    :returns: ``s3://bucket/prefix/export_batch/run/x.csv``.
    :raises ExportPathError: ``path`` is absolute or leaves the prefix (``..``).
    :raises ValueError: ``path`` is empty or names a directory.
    """
    _check_file_name(path)
    scheme, rest = root.path.split("://", 1)
    prefix = rest.strip("/")
    if os.path.isabs(path):
        raise ExportPathError(
            f"output_path {path!r} is a local path, but the export root is {root.path} (object storage, from "
            f"{root.source}); give a path relative to it"
        )
    key = posixpath.normpath(posixpath.join(prefix, path.replace(os.sep, "/")))
    if not key.startswith(prefix + "/"):
        raise ExportPathError(
            f"output_path {path!r} resolves to {scheme}://{key}, outside the export root {root.path}; "
            f"exports may only write inside the export root (it comes from {root.source})"
        )
    return f"{scheme}://{key}"


def _check_file_name(text: str) -> None:
    if not text or not text.strip():
        raise ValueError("output_path is empty")
    if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
        raise ValueError(
            f"output_path {text!r} ends with a separator (or . / ..), so it names a directory; give a file "
            f"name, e.g. {os.path.join(text, 'export.csv')!r}"
        )


def _contained(text: str, path: str, root_path: str, in_force: ExportRoot) -> str:
    """``path`` when it lies strictly inside ``root_path``, else :class:`ExportPathError`."""
    if path == root_path:
        raise ExportPathError(f"output_path {text!r} resolves to the export root {root_path} itself; give a file name")
    if os.path.commonpath([path, root_path]) != root_path:
        how = (
            "no export root is configured, so the default $AIRFLOW_HOME/exports applies; set AIRFLOW_EXPORT_ROOT "
            "or [export] root to a directory that contains the target"
            if in_force.is_default else f"the export root comes from {in_force.source}"
        )
        raise ExportPathError(
            f"output_path {text!r} resolves to {path}, outside the export root {root_path}; "
            f"exports may only write inside the export root ({how})"
        )
    return path


def _place(path: str | os.PathLike, root: RootLike, normalise: Callable[[str], str]) -> str:
    text = os.fspath(path)
    _check_file_name(text)
    in_force = export_root(root)
    if in_force.is_remote:
        raise ExportPathError(
            f"output_path {text!r} is a local target, but the export root is {in_force.path} (object storage, "
            f"from {in_force.source}); give a path relative to it"
        )
    root_path = normalise(os.path.abspath(in_force.path))
    placed = normalise(text if os.path.isabs(text) else os.path.join(root_path, text))
    return _contained(text, placed, root_path, in_force)


def resolve_output_path(path: str | os.PathLike, root: RootLike) -> str:
    """Absolute, symlink-free path for ``path``, checked against ``root`` (on disk, at execute time).

    :param path: the rendered ``output_path``.
    :param root: the export root; None means the root in force (:func:`export_root`), never
        "no restriction".
    :returns: the absolute real path to write to (every symlink followed).
    :raises ExportPathError: the path leaves ``root`` (``..``, absolute path, symlink).
    :raises ValueError: ``path`` is empty or ends with a separator (a directory).
    """
    return _place(path, root, os.path.realpath)


def lexical_output_path(path: str | os.PathLike, root: RootLike) -> str:
    """Absolute path for ``path`` inside ``root``, decided from the text alone (no disk access).

    What the operators declare at DAG-parse time (their default Asset); symlinks are only
    followed, and checked, by :func:`resolve_output_path` when the task runs.

    :param path: a static ``output_path``.
    :param root: the export root; None means the root in force.
    :returns: ``normpath(root / path)``, or ``normpath(path)`` for an absolute path.
    :raises ExportPathError: the path leaves ``root`` (``..``, absolute path elsewhere).
    :raises ValueError: ``path`` is empty or names a directory.
    """
    return _place(path, root, os.path.normpath)
