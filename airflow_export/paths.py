"""Where an export may write: the export root, and ``output_path`` resolved inside it.

There is always an export root, a directory outside of which no export writes. It is the
operator's ``export_root`` argument, else the environment variable ``AIRFLOW_EXPORT_ROOT``,
else Airflow's config ``[export] root`` (``AIRFLOW__EXPORT__ROOT``), else the default
``$AIRFLOW_HOME/exports`` (the operators say so once in the task log). Inside the root:

* a relative ``output_path`` is taken relative to the root;
* the path is resolved with every symlink followed (:func:`os.path.realpath`), and must
  still lie inside the root's real path: ``../`` escapes, absolute paths elsewhere and
  symlinks pointing out are rejected with :class:`ExportPathError`. An absolute path is
  accepted only when the root contains it (configure a root that does).
"""

from __future__ import annotations

import os
from typing import NamedTuple

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
    def is_default(self) -> bool:
        """True when no root was configured and the default is in force."""
        return self.source == "default"


def _airflow_home() -> str:
    home = os.environ.get("AIRFLOW_HOME")
    if home:
        return os.path.expanduser(home)
    try:
        from airflow.configuration import AIRFLOW_HOME
    except ImportError:  # pragma: no cover - writers used without Airflow
        return os.path.expanduser("~/airflow")
    return os.path.expanduser(AIRFLOW_HOME)


def configured_export_root() -> str | None:
    """The export root from ``AIRFLOW_EXPORT_ROOT`` or Airflow's ``[export] root``, or None."""
    root = os.environ.get("AIRFLOW_EXPORT_ROOT")
    if root:
        return root
    try:
        from airflow.configuration import conf
    except ImportError:  # pragma: no cover - writers used without Airflow
        return None
    return conf.get("export", "root", fallback=None) or None


def export_root(argument: ExportRoot | str | os.PathLike | None = None) -> ExportRoot:
    """The export root in force: ``argument``, else the configured root, else ``$AIRFLOW_HOME/exports``.

    Pure lookup (environment and Airflow config); nothing is created or resolved on disk.
    """
    if isinstance(argument, ExportRoot):
        return argument
    if argument is not None and os.fspath(argument):
        return ExportRoot(os.fspath(argument), "argument")
    env = os.environ.get("AIRFLOW_EXPORT_ROOT")
    if env:
        return ExportRoot(env, "AIRFLOW_EXPORT_ROOT")
    configured = configured_export_root()
    if configured:
        return ExportRoot(configured, "[export] root")
    return ExportRoot(os.path.join(_airflow_home(), DEFAULT_ROOT_NAME), "default")


def resolve_output_path(path: str | os.PathLike, root: ExportRoot | str | os.PathLike | None) -> str:
    """Absolute, symlink-free path for ``path``, checked against ``root``.

    :param path: the rendered ``output_path``.
    :param root: the export root; None means the root in force (:func:`export_root`), never
        "no restriction".
    :returns: the absolute real path to write to.
    :raises ExportPathError: the path leaves ``root`` (``..``, absolute path, symlink).
    :raises ValueError: ``path`` is empty or ends with a separator (a directory).
    """
    text = os.fspath(path)
    if not text or not text.strip():
        raise ValueError("output_path is empty")
    if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
        raise ValueError(
            f"output_path {text!r} ends with a separator (or . / ..), so it names a directory; give a file "
            f"name, e.g. {os.path.join(text, 'export.csv')!r}"
        )
    in_force = export_root(root)
    real_root = os.path.realpath(os.path.abspath(in_force.path))
    candidate = text if os.path.isabs(text) else os.path.join(real_root, text)
    real = os.path.realpath(candidate)
    if real == real_root:
        raise ExportPathError(f"output_path {text!r} resolves to the export root {real_root} itself; give a file name")
    if os.path.commonpath([real, real_root]) != real_root:
        how = (
            "no export root is configured, so the default $AIRFLOW_HOME/exports applies; set AIRFLOW_EXPORT_ROOT "
            "or [export] root to a directory that contains the target"
            if in_force.is_default else f"the export root comes from {in_force.source}"
        )
        raise ExportPathError(
            f"output_path {text!r} resolves to {real}, outside the export root {real_root}; "
            f"exports may only write inside the export root ({how})"
        )
    return real
