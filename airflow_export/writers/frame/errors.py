"""The errors of the output layer: every one is an :class:`OSError` with an ``errno``."""

from __future__ import annotations

import errno


class OutputError(OSError):
    """The output location cannot be used."""


class OutputExistsError(OutputError, FileExistsError):
    """The target exists and ``overwrite`` is False."""


class OutputNotWritableError(OutputError, PermissionError):
    """The output directory cannot be created or written."""


class OutputOutsideRootError(OutputError, PermissionError):
    """The target's directory, as opened, lies outside the export root given as ``confine_to``."""


class OutputSpaceError(OutputError):
    """The file system refused more bytes: disk full (``ENOSPC``), quota exceeded (``EDQUOT``)
    or file size limit (``EFBIG``). ``errno`` is the original one; the message names the target
    and how many bytes of it had been written."""


SPACE_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                 errno.EFBIG: "file size limit exceeded"}

