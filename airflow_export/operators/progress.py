"""Progress reporting for long exports: a log line every N rows or every few seconds."""

from __future__ import annotations

import time
from typing import Any

import psutil


class ProgressLogger:
    """Callable handed to a writer as ``progress(records_so_far)``.

    Logs ``rows so far, rate (rows/s), RSS (MiB)`` when at least ``every_rows`` rows or
    ``every_seconds`` seconds have passed since the last line, whichever comes first.

    :param log: where to log: the task's logger (anything with ``info(msg, *args)``).
    :param label: names the export in each line, e.g. the output path.
    :param every_rows: row cadence (>= 1).
    :param every_seconds: time cadence, seconds (> 0).
    """

    def __init__(
        self, log: Any, label: str, *, every_rows: int = 50_000, every_seconds: float = 5.0
    ) -> None:
        if every_rows < 1 or every_seconds <= 0:
            raise ValueError("progress cadence must be positive (every_rows >= 1, every_seconds > 0)")
        self.log = log
        self.label = label
        self.every_rows = every_rows
        self.every_seconds = every_seconds
        self.started = time.monotonic()
        self._last_time = self.started
        self._last_rows = 0
        self._process = psutil.Process()
        self.lines = 0

    def __call__(self, records: int) -> None:
        now = time.monotonic()
        if records - self._last_rows < self.every_rows and now - self._last_time < self.every_seconds:
            return
        elapsed = now - self.started
        rate = records / elapsed if elapsed > 0 else 0.0
        rss_mib = self._process.memory_info().rss / (1 << 20)
        self.log.info("export %s: %d rows so far, %.0f rows/s, RSS %.1f MiB", self.label, records, rate, rss_mib)
        self._last_time = now
        self._last_rows = records
        self.lines += 1
