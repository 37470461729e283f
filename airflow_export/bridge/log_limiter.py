"""A rate-limited warning logger, so a flood of bad StatsD lines cannot flood the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["LOG_BURST", "LOG_WINDOW_SECONDS", "RateLimitedLog"]

#: Warnings allowed per window by default.
LOG_BURST = 10
#: Window length in seconds by default.
LOG_WINDOW_SECONDS = 10.0


class RateLimitedLog:
    """Log at most ``burst`` warnings per ``window`` seconds, then say how many were suppressed.

    The count of suppressed messages is logged when the next window opens (with its first message).

    :param logger: where to log.
    :param burst: messages allowed per window.
    :param window: window length in seconds.
    :param clock: monotonic clock in seconds (for tests).
    """

    def __init__(
        self,
        logger: logging.Logger,
        burst: int = LOG_BURST,
        window: float = LOG_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._burst = burst
        self._window = window
        self._clock = clock
        self._window_start = float("-inf")
        self._sent = 0
        self._suppressed = 0

    def warning(self, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at WARNING unless this window's quota is used up."""
        now = self._clock()
        if now - self._window_start >= self._window:
            if self._suppressed:
                self._logger.warning(
                    "%d similar messages suppressed in the last %.0f s", self._suppressed, self._window
                )
            self._window_start = now
            self._sent = 0
            self._suppressed = 0
        if self._sent < self._burst:
            self._sent += 1
            self._logger.warning(msg, *args)
        else:
            self._suppressed += 1
