"""The Airflow Assets an export declares, and the metadata its Asset events carry.

The default Asset of a static local ``output_path`` is derived from the text alone (no disk
access), because operators are built at DAG-parse time (ADR 0020); the task checks the
real path when it runs.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias

from airflow_export.destinations import RootLike, file_uri_path, lexical_output_path
from airflow_export.destinations import export_root as root_in_force
from airflow_export.destinations.root import remote_output_uri
from airflow_export.operators.lineage import asset_extra


def default_asset(output_path: Any, export_root: RootLike, *, strict: bool = False) -> Asset | None:
    """``Asset("file://<path>")`` for a static local ``output_path`` (a path or a ``file://``
    URI) inside the export root; None when it is templated or remote. Below an object-storage
    root a static relative path gives ``Asset("s3://bucket/prefix/<path>")``.

    :param export_root: the operator's ``export_root`` (None: the root in force).
    :param strict: raise instead of returning None when the path is invalid.
    :raises ExportPathError, ValueError: with ``strict``, the path leaves the export root or is invalid.
    """
    if not isinstance(output_path, str) or "{{" in output_path or "{%" in output_path:
        return None
    if "://" in output_path and not output_path.startswith("file://"):
        return None
    try:
        root = root_in_force(export_root)
        if root.is_remote and "://" not in output_path:
            return Asset(uri=remote_output_uri(output_path, root))
        path = file_uri_path(output_path) if output_path.startswith("file://") else output_path
        return Asset(uri=f"file://{lexical_output_path(path, root)}")
    except (OSError, ValueError):
        if strict:
            raise
        return None


def export_asset(output_path: str, export_root: str | None = None) -> Asset:
    """The Asset an export to the static local ``output_path`` declares (``file://<path>``).

    Use it in a downstream DAG's ``schedule`` to run after that export; it derives the path
    from the export root exactly as the operator does.

    :raises ValueError: ``output_path`` is templated or remote (declare an ``Asset`` yourself).
    :raises ExportPathError: ``output_path`` lies outside the export root (the operator's message).
    """
    asset = default_asset(output_path, export_root, strict=True)
    if asset is None:
        raise ValueError(f"output_path {output_path!r} is templated or remote: declare the Asset explicitly")
    return asset


def emit_asset_events(outlets: list[Any], context: Any, meta: dict[str, Any]) -> None:
    """Attach an export's metadata to the Asset events of its outlets.

    An ``Asset`` outlet's event gets the metadata as extras; an ``AssetAlias`` outlet gets an
    event for ``Asset("file://<written path>")`` (or the remote URI) with those extras.

    :param context: the task context (its ``outlet_events``); nothing happens without one.
    :param meta: the export's XCom metadata (``ExportResult.to_dict()``).
    """
    outlet_events = context.get("outlet_events") if hasattr(context, "get") else None
    if outlet_events is None:
        return
    extra = asset_extra(meta)
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            uri = meta["path"] if "://" in meta["path"] else f"file://{meta['path']}"
            outlet_events[outlet].add(Asset(uri=uri), extra=extra)
        elif isinstance(outlet, Asset):
            outlet_events[outlet].extra.update(extra)
