"""Validation of the export metrics: exposition parsing, ``histogram_quantile``, six assertions.

Pure Python on ``prometheus_client``'s text parser; no Airflow import, so the validation DAG,
``make demo`` and the CLI (``python -m airflow_export.validation --url ...``) share it.
"""

from airflow_export.validation.assertions import (
    ASSERTION_NAMES,
    AssertionResult,
    Thresholds,
    evaluate,
    format_table,
    run_assertions,
)
from airflow_export.validation.exposition import (
    ExpositionError,
    Sample,
    histogram_buckets,
    parse_exposition,
    sample_values,
    samples_named,
    sum_values,
)
from airflow_export.validation.quantile import histogram_quantile

__all__ = [
    "ASSERTION_NAMES",
    "AssertionResult",
    "ExpositionError",
    "Sample",
    "Thresholds",
    "evaluate",
    "format_table",
    "histogram_buckets",
    "histogram_quantile",
    "parse_exposition",
    "run_assertions",
    "sample_values",
    "samples_named",
    "sum_values",
]
