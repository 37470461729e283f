"""File names of an export: part names, temporary names, what an earlier run left.

The one naming rule of every writer: an export that fits in one file has the target's name;
one that needs more files names *every* file a part, :func:`part_path` (see docs/formats.md).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import socket
from pathlib import Path

from airflow_export.writers.frame.errors import OutputError

TEMP_SUFFIX = ".airflow-export-tmp"
_COMPRESSED_SUFFIXES = {".gz", ".gzip", ".bz2", ".xz", ".zst"}


def part_path(path: str | os.PathLike, index: int) -> str:
    """Name of part ``index`` (1-based) of a rolled-over export.

    The part number goes before the format suffix, and before a compression suffix too:
    ``/x/flights.csv`` -> ``/x/flights.part-00001.csv``;
    ``/x/flights.csv.gz`` -> ``/x/flights.part-00001.csv.gz``; ``/x/report`` -> ``/x/report.part-00001``.

    :param path: the export's target path.
    :param index: part number, >= 1.
    :raises ValueError: if ``index`` < 1.
    """
    if index < 1:
        raise ValueError(f"part index must be >= 1, got {index}")
    p = Path(path)
    suffixes = p.suffixes[-2:] if p.suffix.lower() in _COMPRESSED_SUFFIXES else p.suffixes[-1:]
    suffix = "".join(suffixes)
    # A dotted stem such as "sales.2024-01-01" keeps its dots: only real format suffixes move.
    if suffix and not all(s[1:].isalnum() and len(s) <= 6 for s in suffixes):
        suffix = ""
    stem = p.name[: len(p.name) - len(suffix)] if suffix else p.name
    return str(p.with_name(f"{stem}.part-{index:05d}{suffix}"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: Identifies this machine in temporary file names, so a process never judges the liveness of
#: another host's (or container's) writer by a PID that is not its own.
HOST_ID = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _temp_owner(name: str, target_names: re.Pattern[str]) -> tuple[int, str] | None:
    """``(pid, host_id)`` when ``name`` is a temporary file of one of ``target_names``, else None."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return None
    final_name, _, owner = name[1 : -len(TEMP_SUFFIX)].rpartition(".")
    if not target_names.fullmatch(final_name):
        return None
    parts = owner.split("-")
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[2]


#: Longest temporary-name overhead: "." + name + "." + "<pid>-<8 hex>-<8 hex>" + TEMP_SUFFIX (pid up to 7 digits).
_TEMP_OVERHEAD = 1 + 1 + 7 + 1 + 8 + 1 + 8 + len(TEMP_SUFFIX)


def check_name_length(path: str) -> None:
    """Refuse a target whose temporary (or part) file name would exceed the file system's limit.

    :raises OutputError: ``ENAMETOOLONG``, naming the limit and the longest usable name.
    """
    directory = os.path.dirname(path) or "."
    try:
        limit = os.pathconf(directory if os.path.isdir(directory) else "/", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    longest = max(len(os.fsencode(os.path.basename(path))), len(os.fsencode(os.path.basename(part_path(path, 1)))))
    if longest + _TEMP_OVERHEAD > limit:
        name = os.path.basename(path)
        allowed = limit - _TEMP_OVERHEAD - (longest - len(os.fsencode(name)))
        raise OutputError(
            errno.ENAMETOOLONG,
            f"output file name {name!r} is {len(os.fsencode(name))} bytes; with its temporary (and part) suffixes it "
            f"would exceed the file system's {limit}-byte limit: use a name of at most {allowed} bytes",
        )


def _output_names(target: Path) -> re.Pattern[str]:
    """The names of ``target`` and of its part files (``flights.csv``, ``flights.part-NNNNN.csv``)."""
    first_part = Path(part_path(target, 1)).name
    head, _, tail = first_part.partition(".part-00001")
    return re.compile(f"{re.escape(target.name)}|{re.escape(head)}\\.part-\\d{{5}}{re.escape(tail)}")


def existing_outputs(target: str | os.PathLike) -> list[str]:
    """The files already standing at ``target`` or at any of its part names, sorted.

    What ``overwrite=False`` refuses: an earlier export of the same target, single or rolled.

    :returns: paths (empty when the directory does not exist).
    """
    target = Path(target)
    names = _output_names(target)
    try:
        with os.scandir(target.parent) as entries:
            return sorted(str(target.parent / e.name) for e in entries if names.fullmatch(e.name))
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_stale_temporaries(target: str | os.PathLike, dir_fd: int | None = None) -> list[str]:
    """Remove temporary files left for ``target`` (or its parts) by dead processes of this host.

    Only the temporary files of exactly this target and of its part files are considered
    (``.flights.csv.*`` and ``.flights.part-NNNNN.csv.*``, never ``.flights_2024.csv.*``), and
    only those written on this host (the host id in the name) by a process that no longer
    runs. Temporary files of other hosts or containers sharing the folder are left alone.

    :param dir_fd: an open descriptor of the target's directory, used instead of its path.
    :returns: the paths removed.
    """
    target = Path(target)
    directory = target.parent
    if dir_fd is None and not directory.is_dir():
        return []
    names = _output_names(target)
    removed = []
    with os.scandir(dir_fd if dir_fd is not None else directory) as entries:
        for entry in list(entries):
            owner = _temp_owner(entry.name, names)
            if owner is None:
                continue
            pid, host = owner
            if host == HOST_ID and pid != os.getpid() and not _pid_alive(pid):
                try:
                    os.remove(entry.name, dir_fd=dir_fd) if dir_fd is not None else (directory / entry.name).unlink()
                    removed.append(str(directory / entry.name))
                except FileNotFoundError:
                    pass
    return removed

