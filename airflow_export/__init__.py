"""airflow-export: streaming CSV and PDF exports for Apache Airflow 3.

The writers (:func:`write_csv`, :func:`write_pdf`) are plain Python and import no Airflow.
The operators are exported lazily: ``from airflow_export import write_csv`` does not
import Airflow; ``from airflow_export import ExportCsvOperator`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_export.writers.frame import ExportedFile, ExportResult

__version__ = "0.1.0"

__all__ = [
    "ExportCsvOperator",
    "ExportPdfOperator",
    "ExportResult",
    "export_asset",
    "ExportedFile",
    "write_csv",
    "write_pdf",
]

_LAZY = {
    "write_csv": ("airflow_export.writers.csv", "write_csv"),
    "write_pdf": ("airflow_export.writers.pdf", "write_pdf"),
    "ExportCsvOperator": ("airflow_export.operators.export", "ExportCsvOperator"),
    "ExportPdfOperator": ("airflow_export.operators.export", "ExportPdfOperator"),
    "export_asset": ("airflow_export.operators.export", "export_asset"),
}

if TYPE_CHECKING:
    from airflow_export.operators.export import ExportCsvOperator, ExportPdfOperator, export_asset
    from airflow_export.writers.csv import write_csv
    from airflow_export.writers.pdf import write_pdf


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'airflow_export' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value
