"""The value every writer returns: what was written, where, and how much.

Pure data; no Airflow import. The operators turn an :class:`ExportResult` into the XCom
return value with :meth:`ExportResult.to_dict` (metadata only, never rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ExportedFile:
    """One finished file of an export.

    :param path: absolute path of the finished file (after the atomic rename).
    :param records: data rows in this file (the header is not a record).
    :param bytes: size of the file on disk, in bytes (after compression, if any).
    :param sha256: hex SHA-256 digest of the file's bytes as stored.
    """

    path: str
    records: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ExportResult:
    """Summary of one export.

    :param path: the first file written (with rolling, the first part).
    :param format: ``"csv"`` or ``"pdf"``.
    :param records: data rows written, summed over all files.
    :param bytes: bytes written, summed over all files.
    :param duration_seconds: wall time of the write, in seconds.
    :param files: one :class:`ExportedFile` per file, in write order (length >= 1).
    :param formula_guarded_cells: text cells the CSV formula guard prefixed with ``'`` (0 for PDF).
    """

    path: str
    format: str
    records: int
    bytes: int
    duration_seconds: float
    files: tuple[ExportedFile, ...] = field(default_factory=tuple)
    formula_guarded_cells: int = 0

    @property
    def sha256(self) -> str:
        """SHA-256 of the first (or only) file, hex."""
        return self.files[0].sha256 if self.files else ""

    @property
    def records_per_second(self) -> float:
        """Throughput in records per second (0.0 when the duration is 0)."""
        return self.records / self.duration_seconds if self.duration_seconds > 0 else 0.0

    @classmethod
    def from_files(cls, format: str, files: Sequence[ExportedFile], duration_seconds: float) -> ExportResult:
        """The result of an export that wrote ``files`` (in order, at least one): ``path`` is
        the first file's, ``records`` and ``bytes`` their sums.

        :raises ValueError: ``files`` is empty.
        """
        if not files:
            raise ValueError("an export result needs at least one file")
        return cls(
            path=files[0].path,
            format=format,
            records=sum(f.records for f in files),
            bytes=sum(f.bytes for f in files),
            duration_seconds=duration_seconds,
            files=tuple(files),
        )

    def to_dict(self) -> dict:
        """JSON-serialisable metadata: path, format, records, bytes, duration_seconds, sha256, files,
        formula_guarded_cells."""
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        data["sha256"] = self.sha256
        return data
