"""One file of an export being written: its temporary file, hashed and counted as written.

Space errors (disk full, quota, file size limit) of every write, flush and fsync are raised
as :class:`~airflow_export.writers.frame.errors.OutputSpaceError` naming the target.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from airflow_export.writers.frame.errors import SPACE_ERRNOS, OutputError, OutputNotWritableError, OutputSpaceError
from airflow_export.writers.frame.naming import HOST_ID, TEMP_SUFFIX

_HASH_BLOCK = 1 << 20


def _space_error(exc: OSError, pending: PendingFile) -> OSError:
    """``exc`` as an :class:`OutputSpaceError` when it is a space error, else ``exc`` itself."""
    if isinstance(exc, OutputError) or exc.errno not in SPACE_ERRNOS:
        return exc
    try:
        written = os.fstat(pending._fh.fileno()).st_size  # type: ignore[union-attr]  # None: caught below
    except (OSError, AttributeError, ValueError):
        written = 0
    directory = os.path.dirname(pending.final_path)
    try:
        stats = os.statvfs(directory)
        free = f"; {stats.f_bavail * stats.f_frsize:,} bytes free there now"
        if stats.f_files and not stats.f_favail:
            free += ", and no free inodes (no new file can be created)"
    except OSError:
        free = ""
    return OutputSpaceError(
        exc.errno,
        f"{SPACE_ERRNOS[exc.errno]} while writing {pending.final_path}: its temporary file "
        f"{os.path.basename(pending.temp_path)} stopped at {written:,} bytes{free}. The temporary file is removed "
        f"and the target is left as it was; free space (or raise the limit) and run the export again",
    )


def _sha256_and_size(name: str, dir_fd: int | None = None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd), "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


class HashingWriter:
    """A binary writer that feeds every byte written through it to SHA-256 and counts it.

    Wraps the temporary file so commit needs no second read. Anything else (``flush``,
    ``fileno``, ``closed`` ...) is passed to the wrapped file.
    """

    def __init__(self, raw: BinaryIO, pending: PendingFile | None = None) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self._pending = pending
        self.size = 0

    def write(self, data) -> int:
        view = memoryview(data)
        self._hash.update(view)
        self.size += view.nbytes
        try:
            return self._raw.write(view)
        except OSError as exc:
            if self._pending is None:
                raise
            raise _space_error(exc, self._pending) from exc

    def writable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def __getattr__(self, name: str):
        return getattr(self._raw, name)


class PendingFile:
    """One file being written: a temporary path now, ``final_path`` after commit."""

    def __init__(self, final_path: str, dir_fd: int | None = None) -> None:
        self.final_path = final_path
        final = Path(final_path)
        token = secrets.token_hex(4)
        self.temp_path = str(final.with_name(f".{final.name}.{os.getpid()}-{token}-{HOST_ID}{TEMP_SUFFIX}"))
        #: The directory's descriptor (owned by the AtomicOutput), and the names inside it.
        self.dir_fd = dir_fd
        self.final_name = final.name if dir_fd is not None else final_path
        self.temp_name = os.path.basename(self.temp_path) if dir_fd is not None else self.temp_path
        self.records = 0
        self._fh: BinaryIO | None = None
        self.hasher: HashingWriter | None = None

    def open(self, buffering: int = 1 << 20, *, hashing: bool = False) -> BinaryIO:
        """Open the temporary file for binary writing (created exclusively).

        :param buffering: buffer size in bytes, as for :func:`open`.
        :param hashing: return a :class:`HashingWriter` around the file, so that commit
            takes the SHA-256 and size from it instead of reading the file back. Every
            byte of the file must then be written through it.
        :raises OutputNotWritableError: the directory cannot be written.
        """
        try:
            fd = os.open(self.temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666, dir_fd=self.dir_fd)
            self._fh = open(fd, "wb", buffering=buffering)  # noqa: SIM115 - kept open across writes, closed by close()
        except PermissionError as exc:
            raise OutputNotWritableError(
                exc.errno, f"output directory {Path(self.final_path).parent} is not writable"
            ) from exc
        except OSError as exc:  # e.g. no free inodes: ENOSPC on create
            raise _space_error(exc, self) from exc
        if hashing:
            self.hasher = HashingWriter(self._fh, self)
            return self.hasher  # type: ignore[return-value]
        return _SpaceCheckedFile(self._fh, self)  # type: ignore[return-value]

    def sha256_and_size(self) -> tuple[str, int]:
        """Hex SHA-256 and size in bytes of the closed temporary file: from the
        :class:`HashingWriter` when it saw every byte (its count equals the size on disk),
        else by reading the file."""
        if self.hasher is not None and self.hasher.size == os.stat(self.temp_name, dir_fd=self.dir_fd).st_size:
            return self.hasher.hexdigest(), self.hasher.size
        return _sha256_and_size(self.temp_name, self.dir_fd)

    def move_to(self, other: PendingFile) -> None:
        """Rename this (closed) temporary file to ``other``'s temporary name (e.g. single file -> part 1)."""
        os.replace(self.temp_name, other.temp_name, src_dir_fd=self.dir_fd, dst_dir_fd=other.dir_fd)

    def close(self) -> None:
        """Flush, fsync and close the temporary file (idempotent).

        :raises OutputSpaceError: the buffered bytes did not fit (disk full, quota, size limit).
        """
        if self._fh is not None and not self._fh.closed:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as exc:
                raise _space_error(exc, self) from exc
            self._fh.close()


class _SpaceCheckedFile:
    """The temporary file, with space errors of ``write`` raised as :class:`OutputSpaceError`."""

    def __init__(self, raw: BinaryIO, pending: PendingFile) -> None:
        self._raw = raw
        self._pending = pending

    def write(self, data) -> int:
        try:
            return self._raw.write(data)
        except OSError as exc:
            raise _space_error(exc, self._pending) from exc

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str):
        return getattr(self._raw, name)
