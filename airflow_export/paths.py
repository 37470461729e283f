"""Where an export may write: resolving ``output_path`` against the configured export root.

The export root is a directory outside of which no export writes. It comes from the
operator's ``export_root`` argument, else the environment variable ``AIRFLOW_EXPORT_ROOT``,
else Airflow's config ``[export] root`` (``AIRFLOW__EXPORT__ROOT``). With a root set:

* a relative ``output_path`` is taken relative to the root;
* the path is resolved with every symlink followed (:func:`os.path.realpath`), and must
  still lie inside the root's real path: ``../`` escapes, absolute paths elsewhere and
  symlinks pointing out are rejected with :class:`ExportPathError`.

With no root configured, any path is accepted and a relative one is taken relative to
the current directory.
"""

from __future__ import annotations

import os


class ExportPathError(PermissionError):
    """``output_path`` resolves outside the export root."""


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


def resolve_output_path(path: str | os.PathLike, root: str | os.PathLike | None) -> str:
    """Absolute, symlink-free path for ``path``, checked against ``root``.

    :param path: the rendered ``output_path``.
    :param root: the export root, or None for no restriction.
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
    if root is None:
        return os.path.realpath(os.path.abspath(text))
    real_root = os.path.realpath(os.fspath(root))
    candidate = text if os.path.isabs(text) else os.path.join(real_root, text)
    real = os.path.realpath(candidate)
    if real == real_root:
        raise ExportPathError(f"output_path {text!r} resolves to the export root {real_root} itself; give a file name")
    if os.path.commonpath([real, real_root]) != real_root:
        raise ExportPathError(
            f"output_path {text!r} resolves to {real}, outside the export root {real_root}; "
            "exports may only write inside the export root"
        )
    return real
