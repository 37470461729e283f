"""The file series of one export: opens the next file, counts rows and bytes, rolls, commits.

Every writer writes through one :class:`FileSeries`; the format itself is a
:class:`FileRenderer` (what a file starts and ends with, how rows are drawn). The one naming
rule (docs/formats.md, "Files"): while the export fits in one file that file has the target's
name; when a row arrives that the file cannot take (``max_rows_per_file`` or
``max_bytes_per_file`` reached) the first file, still a temporary file, becomes part 1 and
every file is a part, ``NAME.part-00001.EXT`` ... (:func:`~airflow_export.writers.frame.naming.part_path`).
One file is open at a time; nothing is renamed into place before :meth:`FileSeries.finish`.
"""

from __future__ import annotations

import os
import time
from typing import Any, BinaryIO

from airflow_export.writers.frame.atomic import AtomicOutput
from airflow_export.writers.frame.pending import PendingFile
from airflow_export.writers.frame.result import ExportResult

#: Write buffer of each file, in bytes.
BUFFER_BYTES = 1 << 20


class FileRenderer:
    """What a format does at the edges of each file; subclass per format.

    :ivar stream: where :meth:`FileSeries.write` puts row bytes (set by :meth:`begin_file`).
    """

    stream: Any = None

    def begin_file(self, fh: BinaryIO) -> int:
        """Start a file on ``fh`` (a hashing binary writer); return the uncompressed bytes written."""
        self.stream = fh
        return 0

    def end_file(self) -> None:
        """Complete the current file (trailer, save); the series then fsyncs and closes it."""
        self.stream = None

    def discard_file(self) -> None:
        """On failure: drop the current file's state; nothing more may be written to it."""
        self.stream = None

    def file_closed(self, records_so_far: int) -> None:
        """Called once a file is complete and closed (fsync'ed), with the rows of every closed file."""


class FileSeries:
    """The files of one export, opened lazily, rolled by rows/bytes, committed together.

    The output is opened here, so an unusable target (``overwrite=False`` and it exists, a
    directory that cannot be written, outside ``confine_to``) fails before any row is read.
    Use as a context manager: an exception inside the block removes every temporary file.

    :param path: the export's target path.
    :param format: the result's ``format`` (``"csv"``, ``"pdf"``).
    :param renderer: the format's :class:`FileRenderer`.
    :param overwrite: see :class:`~airflow_export.writers.frame.atomic.AtomicOutput`.
    :param max_rows_per_file: rows per file (>= 1), or None.
    :param max_bytes_per_file: uncompressed bytes per file (>= 1), or None; only
        :meth:`write_texts` counts bytes.
    :param confine_to: the export root the target's directory must lie in, or None.
    :raises OutputError: see :class:`~airflow_export.writers.frame.atomic.AtomicOutput`.
    """

    def __init__(self, path: str | os.PathLike[str], format: str, renderer: FileRenderer, *, overwrite: bool = True,
                 max_rows_per_file: int | None = None, max_bytes_per_file: int | None = None,
                 confine_to: str | os.PathLike[str] | None = None) -> None:
        self.started = time.perf_counter()
        self.format = format
        self.renderer = renderer
        self.max_rows = max_rows_per_file
        self.max_bytes = max_bytes_per_file
        self.output = AtomicOutput(path, overwrite=overwrite, parts=False, confine_to=confine_to)
        self.pending: PendingFile | None = None
        self.files = 0  # files opened
        self.records = 0  # in the current file
        self.bytes = 0  # uncompressed, in the current file
        self.done_records = 0  # in the files already closed
        self.full = False  # the current file takes no more rows

    @property
    def rolling(self) -> bool:
        """True if a limit can split the export into several files."""
        return self.max_rows is not None or self.max_bytes is not None

    @property
    def written(self) -> int:
        """Rows written so far, over every file."""
        return self.done_records + self.records

    def room(self) -> int | None:
        """Rows the current file still takes, opening the first or the next file as needed
        (never 0); None: no row limit."""
        if self.pending is None or self.full or (self.max_rows is not None and self.records >= self.max_rows):
            self.open_next()
        return None if self.max_rows is None else self.max_rows - self.records

    def open_next(self) -> None:
        """Close the current file (if any) and open the next; the first roll renames file 1 to part 1."""
        self._close_current()
        if self.files == 1:
            self.output.roll_to_parts()
        self.pending = self.output.new_file()
        # SHA-256 and size are taken from the bytes as they are written: no re-read at commit.
        fh = self.pending.open(BUFFER_BYTES, hashing=True)
        self.files += 1
        self.records = 0
        self.full = False
        self.bytes = self.renderer.begin_file(fh)

    def add(self, rows: int, nbytes: int = 0) -> None:
        """Count ``rows`` rows (``nbytes`` uncompressed bytes) written into the current file."""
        self.records += rows
        self.bytes += nbytes

    def write(self, data: bytes, rows: int) -> None:
        """Write ``data`` (the bytes of ``rows`` rows) to the current file (opening the first)."""
        if self.pending is None:
            self.open_next()
        self.renderer.stream.write(data)
        self.records += rows
        self.bytes += len(data)

    def write_texts(self, texts: list[str], codec: str) -> None:
        """Write row texts (one string per row) encoded with ``codec``, rolling as the limits say.

        ``max_bytes_per_file`` is checked row by row: a file never holds more bytes, except a
        file holding one row that alone exceeds the limit.
        """
        self._write_rows(texts, lambda part: "".join(part).encode(codec), lambda text: len(text.encode(codec)))

    def write_blocks(self, blocks: list[bytes]) -> None:
        """Write rows already encoded (one bytes object per row), rolling as :meth:`write_texts` does."""
        self._write_rows(blocks, b"".join, len)

    def _write_rows(self, rows: list[Any], join: Any, size: Any) -> None:
        max_rows, max_bytes = self.max_rows, self.max_bytes
        start, end = 0, len(rows)
        while start < end:
            room = self.room()
            take = end - start if room is None else min(end - start, room)
            data = join(rows[start : start + take])
            if max_bytes is not None and self.bytes + len(data) > max_bytes:
                space = max_bytes - self.bytes
                fit = 0
                for row in rows[start : start + take]:
                    space -= size(row)
                    if space < 0:
                        break
                    fit += 1
                if fit == 0 and self.records:
                    self.full = True  # not even one more row fits: next file
                    continue
                take = max(fit, 1)  # a single row over the limit goes alone into a file
                data = join(rows[start : start + take])
                self.full = True
            self.write(data, take)
            start += take
            if max_rows is not None and self.records >= max_rows:
                self.full = True

    def _close_current(self) -> None:
        if self.pending is None:
            return
        self.renderer.end_file()
        self.pending.records = self.records
        self.pending.close()
        self.done_records += self.records
        self.records = 0
        self.pending = None
        self.renderer.file_closed(self.done_records)

    def finish(self) -> ExportResult:
        """Complete the last file (empty input still gives one file), commit every file and
        return the :class:`~airflow_export.writers.frame.result.ExportResult` (duration: since
        this series was made)."""
        if self.files == 0:
            self.open_next()
        self._close_current()
        files = self.output.commit()
        return ExportResult.from_files(self.format, files, time.perf_counter() - self.started)

    def abort(self) -> None:
        """Drop the current file and remove every temporary file; targets are left as they were."""
        self.renderer.discard_file()
        self.output.abort()

    def __enter__(self) -> FileSeries:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
