"""Atomic file output: temporary files beside the target, renamed only when the export succeeds.

Contract: no partial file ever stands at a target path. Each file is written to a hidden
temporary file in the target's directory (``.NAME.PID-RANDOM-HOSTID.airflow-export-tmp``,
:mod:`~airflow_export.writers.frame.naming`), fsync'ed, and all files of an export are renamed
with :func:`os.replace` (or linked, ``overwrite=False``) at :meth:`AtomicOutput.commit`; on any
error the temporary files are removed. Temporary files of dead processes of this host are
removed when the next export to the same target starts.

Every file operation goes through a descriptor of the target's directory, opened once. With
``confine_to`` that opened directory must lie inside the given root, checked on the
descriptor itself (``/proc/self/fd``). Why: docs/adr/0002-atomic-output.md and
docs/adr/0003-explicit-export-root.md.

Each finished file is described by its size and SHA-256, taken from the bytes as written when
the file was opened with ``hashing=True``, else read back once at commit.
"""

from __future__ import annotations

import contextlib
import errno
import os

from airflow_export.writers.frame.errors import (
    SPACE_ERRNOS,
    OutputError,
    OutputExistsError,
    OutputNotWritableError,
    OutputOutsideRootError,
    OutputSpaceError,
)
from airflow_export.writers.frame.naming import (
    check_name_length,
    existing_outputs,
    part_path,
    remove_stale_temporaries,
)
from airflow_export.writers.frame.pending import PendingFile
from airflow_export.writers.frame.result import ExportedFile


def _fd_path(dir_fd: int, fallback: str) -> str:
    """The real path of an open directory (``/proc/self/fd`` on Linux; else ``realpath(fallback)``)."""
    try:
        return os.readlink(f"/proc/self/fd/{dir_fd}")
    except OSError:
        return os.path.realpath(fallback)


class AtomicOutput:
    """The set of files of one export, committed together.

    Use as a context manager: an exception inside the block removes every temporary file
    and leaves the targets untouched; :meth:`commit` renames them all.

    :param path: the export's target path; missing parent directories are created.
    :param overwrite: if False and a target already exists, :class:`OutputError` is raised
        here, before any work is done.
    :param parts: name files with :func:`part_path` (rolling) instead of ``path`` itself.
    :param confine_to: the export root, or None: the target's directory, as opened (after
        every symlink), must lie inside it.
    :raises OutputError: target exists and ``overwrite`` is False; the directory cannot be
        created or written.
    :raises OutputOutsideRootError: the directory resolves outside ``confine_to``.
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = True, parts: bool = False,
                 confine_to: str | os.PathLike | None = None) -> None:
        text = os.fspath(path)
        if text.endswith(("/", os.sep)) or os.path.basename(text) in (".", ".."):
            raise OutputError(errno.EISDIR, f"output path {text!r} names a directory; give a file name")
        if "://" in text:
            raise OutputError(
                errno.EINVAL,
                f"output path {text!r} is a URI; the writers take local paths (the operators also accept "
                "file:// and object storage URIs)",
            )
        self.path = os.path.abspath(text)
        self.overwrite = overwrite
        self.parts = parts
        self._pending: list[PendingFile] = []
        check_name_length(self.path)
        if not overwrite and (existing := existing_outputs(self.path)):
            raise OutputExistsError(errno.EEXIST, f"output file {existing[0]} already exists and overwrite=False")
        if os.path.isdir(self.path):
            raise OutputError(errno.EISDIR, f"output path {self.path} is a directory, expected a file path")
        directory = os.path.dirname(self.path)
        root = os.path.realpath(os.fspath(confine_to)) if confine_to is not None else None
        if root is not None:
            # Before creating missing parents: makedirs would follow a swapped-in symlink out.
            self._refuse_outside(root, os.path.realpath(directory), directory)
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            if exc.errno in SPACE_ERRNOS:
                raise OutputSpaceError(
                    exc.errno, f"{SPACE_ERRNOS[exc.errno]}: cannot create output directory {directory}"
                ) from exc
            raise OutputNotWritableError(
                exc.errno or errno.EACCES, f"cannot create output directory {directory}: {exc.strerror}"
            ) from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OutputNotWritableError(errno.EACCES, f"output directory {directory} is not writable")
        self._dir_fd: int | None = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if root is not None:
                self._refuse_outside(root, _fd_path(self._dir_fd, directory), directory)
            remove_stale_temporaries(self.path, self._dir_fd)
        except BaseException:
            self._close_dir()
            raise

    @staticmethod
    def _refuse_outside(root: str, real: str, directory: str) -> None:
        if os.path.commonpath([real, root]) != root:
            raise OutputOutsideRootError(
                errno.EACCES,
                f"output directory {directory} now resolves to {real}, outside the export root {root} "
                "(a directory was replaced by a symlink after the path was checked); nothing was written",
            )

    def _close_dir(self) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    def _exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self._dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def new_file(self) -> PendingFile:
        """Start the next file (part ``len(files) + 1`` when rolling)."""
        index = len(self._pending) + 1
        if not self.parts and index > 1:
            raise RuntimeError("a single-file export cannot open a second file; pass parts=True")
        final = part_path(self.path, index) if self.parts else self.path
        if not self.overwrite and self._exists(os.path.basename(final)):
            raise OutputExistsError(errno.EEXIST, f"output file {final} already exists and overwrite=False")
        pending = PendingFile(final, self._dir_fd)
        self._pending.append(pending)
        return pending

    def roll_to_parts(self) -> PendingFile:
        """Switch a single-file output to part naming, keeping its directory descriptor.

        The one file written so far (still a temporary file) becomes part 1 and the output
        continues with :meth:`new_file` giving parts 2, 3 ... Nothing is renamed into place.

        :returns: the pending part 1 (the records count carried over).
        :raises RuntimeError: already in parts mode, or not exactly one file so far.
        :raises OutputExistsError: ``overwrite=False`` and part 1 exists.
        """
        if self.parts or len(self._pending) != 1:
            raise RuntimeError("roll_to_parts needs a single-file output with exactly one file")
        first = self._pending[0]
        final = part_path(self.path, 1)
        if not self.overwrite and self._exists(os.path.basename(final)):
            raise OutputExistsError(errno.EEXIST, f"output file {final} already exists and overwrite=False")
        first.close()
        part = PendingFile(final, self._dir_fd)
        first.move_to(part)
        part.records = first.records
        self.parts = True
        self._pending = [part]
        return part

    def commit(self) -> list[ExportedFile]:
        """fsync and rename every temporary file to its target; return them in order.

        With ``overwrite=True`` each file replaces its target (:func:`os.replace`), and what an
        earlier run of the same export left in the other naming is removed, so the set on disk
        is exactly this run's: parts beyond this run's last one, the single file when this run
        rolled over, the parts when it did not. With ``overwrite=False`` each file is linked
        into place (:func:`os.link` fails if the target exists), so of two exports racing for
        the same target one fails with :class:`OutputExistsError` and the other's file stands.
        """
        done = []
        for pending in self._pending:
            pending.close()
            digest, size = pending.sha256_and_size()
            done.append(ExportedFile(pending.final_path, pending.records, size, digest))
        try:
            if self.overwrite:
                for pending in self._pending:
                    os.replace(pending.temp_name, pending.final_name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
                self._remove_other_files()
            else:
                self._link_all()
        except BaseException:
            self.abort()
            raise
        assert self._dir_fd is not None  # open until _close_dir below
        with contextlib.suppress(OSError):
            os.fsync(self._dir_fd)
        self._pending = []
        self._close_dir()
        return done

    def _link_all(self) -> None:
        linked: list[str] = []
        try:
            for pending in self._pending:
                try:
                    os.link(pending.temp_name, pending.final_name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
                except FileExistsError:
                    raise OutputExistsError(
                        errno.EEXIST, f"output file {pending.final_path} appeared while exporting and overwrite=False"
                    ) from None
                linked.append(pending.final_path)
        except BaseException:
            for path in linked:
                os.remove(os.path.basename(path), dir_fd=self._dir_fd)
            raise
        for pending in self._pending:
            os.remove(pending.temp_name, dir_fd=self._dir_fd)

    def _remove_other_files(self) -> None:
        keep = {p.final_path for p in self._pending}
        stale = [self.path] if self.parts else []
        index = len(self._pending) + 1 if self.parts else 1
        while self._exists(os.path.basename(candidate := part_path(self.path, index))):
            stale.append(candidate)
            index += 1
        for path in stale:
            if path not in keep:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.basename(path), dir_fd=self._dir_fd)

    def abort(self) -> None:
        """Close and remove every temporary file; the targets are left as they were."""
        for pending in self._pending:
            try:
                if pending._fh is not None and not pending._fh.closed:
                    pending._fh.close()
            except OSError:
                pass
            with contextlib.suppress(FileNotFoundError):
                os.remove(pending.temp_name, dir_fd=self._dir_fd)
        self._pending = []
        self._close_dir()

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
