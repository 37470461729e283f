"""Evidence of a validation run: the metrics snapshot, the export listing, the assertion output.

Written under one folder (the validation DAG uses ``$AIRFLOW_HOME/evidence/<run_id>/``):

* ``metrics.prom``: the scraped exposition, as received;
* ``exports.json``: every file under the listed export folder (path, bytes), sorted;
* ``assertions.json`` and ``assertions.txt``: the six results (JSON) and the table (text).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from airflow_export.validation.assertions import AssertionResult, format_table


def list_exports(folder: str | os.PathLike[str] | None, conn_id: str | None = None) -> list[dict]:
    """Files under ``folder`` (recursively), as ``{"path", "bytes"}`` sorted by path; [] if absent.

    ``folder`` may be object storage (``s3://bucket/prefix/run``, read through ``conn_id``): then the
    paths are object URIs. Hidden temporary files (``.*.airflow-export-tmp``) are listed too: a finished
    batch should have none.
    """
    if folder and "://" in str(folder) and not str(folder).startswith("file://"):
        return _list_objects(str(folder), conn_id)
    if not folder or not os.path.isdir(folder):
        return []
    found = []
    for directory, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(directory, name)
            found.append({"path": path, "bytes": os.path.getsize(path)})
    return sorted(found, key=lambda f: f["path"])


def _list_objects(uri: str, conn_id: str | None) -> list[dict]:
    from airflow.sdk import ObjectStoragePath

    folder = ObjectStoragePath(uri, conn_id=conn_id) if conn_id else ObjectStoragePath(uri)
    protocol = uri.split("://", 1)[0]
    found = folder.fs.find(folder.path.rstrip("/") + "/", detail=True)
    return sorted(({"path": f"{protocol}://{key}", "bytes": info.get("size", 0)} for key, info in found.items()
                   if info.get("type") != "directory"), key=lambda f: f["path"])


def write_evidence(
    folder: str | os.PathLike, exposition: str, results: Sequence[AssertionResult], exports: Sequence[dict]
) -> Path:
    """Write the evidence files into ``folder`` (created); return the folder."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.prom").write_text(exposition, encoding="utf-8")
    (out / "exports.json").write_text(json.dumps(list(exports), indent=2), encoding="utf-8")
    results_json = json.dumps([r.as_dict() for r in results], indent=2, default=str)
    (out / "assertions.json").write_text(results_json, encoding="utf-8")
    (out / "assertions.txt").write_text(format_table(results) + "\n", encoding="utf-8")
    return out
