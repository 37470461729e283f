"""A local target: the writer writes the final path itself, atomically (its temporary file beside
the target, linked into place on success), so there is nothing to publish afterwards."""

from __future__ import annotations

import errno
import os

from airflow_export.destinations.target import Destination
from airflow_export.writers.frame import (
    ExportResult,
    OutputError,
    OutputExistsError,
    check_name_length,
    existing_outputs,
)


class LocalStage:
    """The staged output of a local target (made by :func:`~airflow_export.destinations.staged_output`).

    :param destination: a resolved local target (:attr:`Destination.local_path` is set).
    :param overwrite: False: an existing target fails :meth:`check_target`.
    """

    def __init__(self, destination: Destination, *, overwrite: bool = True) -> None:
        if destination.local_path is None:
            raise ValueError(f"{destination.uri} is not a local target")
        self.destination = destination
        self.overwrite = overwrite
        self.local_path: str = destination.local_path
        self.committed = False

    def check_target(self) -> None:
        """Fail before any row is read: a file name too long for its temporary names, a
        directory at the target, or (``overwrite=False``) an existing target or part.

        :raises OutputExistsError: a file stands at ``NAME`` or any ``NAME.part-NNNNN.EXT``.
        :raises OutputError: ``ENAMETOOLONG`` (see :func:`~airflow_export.writers.frame.check_name_length`),
            ``EISDIR``.
        """
        local = self.local_path
        check_name_length(local)
        if os.path.isdir(local):
            raise OutputError(errno.EISDIR, f"output path {local} is a directory, expected a file path")
        if not self.overwrite and (existing := existing_outputs(local)):
            # The writer checks again (and links atomically at the end).
            raise OutputExistsError(errno.EEXIST, f"output file {existing[0]} already exists and overwrite=False")

    def commit(self, result: ExportResult) -> ExportResult:
        """The writer already published its files: return ``result`` unchanged.

        :raises RuntimeError: called twice.
        """
        if self.committed:
            raise RuntimeError("this staged output was already committed")
        self.committed = True
        return result

    def cleanup(self) -> None:
        """Nothing to clean: the writer removes its own temporary file on failure."""
