"""Concurrency of task instances, from their start and end times."""

from __future__ import annotations

from datetime import datetime


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def max_overlap(intervals: list[tuple[str, str]]) -> int:
    """Largest number of intervals open at one instant (ISO 8601 start/end pairs).

    Sweep line: at equal timestamps an end is processed before a start, so a task that
    starts exactly when another ends does not count as overlapping it.
    """
    events = []
    for start, end in intervals:
        events.append((_ts(start), 1))
        events.append((_ts(end), -1))
    events.sort(key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


def waited_for_slot(intervals: list[tuple[str, str]]) -> int:
    """How many intervals started at or after the end of another one (they waited for a freed slot)."""
    first_end = min(_ts(end) for _, end in intervals)
    return sum(1 for start, _ in intervals if _ts(start) >= first_end)
