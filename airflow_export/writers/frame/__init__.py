"""The writer frame: what every format shares.

* :class:`WriterOptions`: the options base (validation, did-you-mean);
* :class:`FileSeries` and :class:`FileRenderer`: the files of one export (open, count,
  roll with the one naming rule, commit) and a format's hooks into them;
* :class:`AtomicOutput`: temporary files renamed into place, confined to an export root;
* :class:`ExportResult` / :class:`ExportedFile`: built once, by :meth:`FileSeries.finish`;
* the output errors.
"""

from airflow_export.writers.frame.atomic import AtomicOutput
from airflow_export.writers.frame.errors import (
    OutputError,
    OutputExistsError,
    OutputNotWritableError,
    OutputOutsideRootError,
    OutputSpaceError,
)
from airflow_export.writers.frame.naming import (
    TEMP_SUFFIX,
    check_name_length,
    existing_outputs,
    part_path,
    remove_stale_temporaries,
)
from airflow_export.writers.frame.options import WriterOptions, check_positive_int
from airflow_export.writers.frame.pending import PendingFile
from airflow_export.writers.frame.result import ExportedFile, ExportResult
from airflow_export.writers.frame.series import FileRenderer, FileSeries

__all__ = [
    "TEMP_SUFFIX",
    "AtomicOutput",
    "ExportResult",
    "ExportedFile",
    "FileRenderer",
    "FileSeries",
    "OutputError",
    "OutputExistsError",
    "OutputNotWritableError",
    "OutputOutsideRootError",
    "OutputSpaceError",
    "PendingFile",
    "WriterOptions",
    "check_name_length",
    "check_positive_int",
    "existing_outputs",
    "part_path",
    "remove_stale_temporaries",
]
