"""A stand-in for Airflow's StatsD client that records the counters the export metrics send."""

from __future__ import annotations

from typing import Any


class CountingStats:
    """``incr`` calls recorded as names (``count`` times each); timers and gauges ignored.

    Use: ``monkeypatch.setattr(airflow_export.metrics, "_stats", lambda: recorder)``.
    """

    def __init__(self) -> None:
        self.counted: list[str] = []

    def incr(self, name: str, count: int = 1, *args: Any, **kwargs: Any) -> None:
        self.counted.extend([name] * count)

    def timing(self, *args: Any, **kwargs: Any) -> None:
        pass

    def gauge(self, *args: Any, **kwargs: Any) -> None:
        pass
