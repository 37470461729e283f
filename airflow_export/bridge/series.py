"""One bridged series per Prometheus type: the values a sample updates.

Every series has ``observe(value, times, now)`` or plain attributes the exporter updates; a
histogram or summary label set is one series, and so is a gauge with its high-water mark.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

from airflow_export.bridge.mapping import DEFAULT_BUCKETS, SummaryOptions

__all__ = ["SUMMARY_WINDOW_LIMIT", "CounterSeries", "Family", "GaugeSeries", "HistogramSeries", "SummarySeries"]

#: Most observations a summary series keeps for its quantiles (``buf_cap`` is capped to this).
SUMMARY_WINDOW_LIMIT = 200


class CounterSeries:
    """A counter's value (monotonic, starts at 0)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0


class GaugeSeries:
    """A gauge's value and its high-water mark (maximum value held since creation)."""

    __slots__ = ("value", "high")

    def __init__(self) -> None:
        self.value = 0.0
        self.high = float("-inf")

    def set(self, value: float, relative: bool) -> None:
        """Set the gauge to ``value``, or change it by ``value`` when ``relative``; keep the maximum."""
        if relative:
            value += self.value
        self.value = value
        if value > self.high:
            self.high = value


class HistogramSeries:
    """Per-bucket (non-cumulative) counts, sum and count of a histogram.

    ``counts[i]`` counts observations ``v`` with ``bounds[i-1] < v <= bounds[i]``; the last
    slot is the ``+Inf`` bucket. Observe with ``counts[bisect_left(bounds, v)] += n``.
    """

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float, times: int = 1, now: float = 0.0) -> None:
        """Add ``times`` observations of ``value`` (``now`` is unused: a histogram has no time window)."""
        self.counts[bisect_left(self.bounds, value)] += times
        self.sum += value * times
        self.count += times


class SummarySeries:
    """Sum, count and a ring of the most recent observations (monotonic time, value, weight).

    The ring holds at most ``capacity`` observations in three ``array('d')`` (8 bytes per
    observation each), so a summary series costs at most about ``24 * capacity`` bytes beyond its
    fixed part.
    """

    __slots__ = ("sum", "count", "_times", "_values", "_weights", "_next", "_capacity")

    def __init__(self, capacity: int) -> None:
        self.sum = 0.0
        self.count = 0
        self._capacity = max(1, capacity)
        self._times = array("d")
        self._values = array("d")
        self._weights = array("d")
        self._next = 0

    def observe(self, value: float, times: int = 1, now: float = 0.0) -> None:
        """Add ``times`` observations of ``value`` made at monotonic time ``now``."""
        self.sum += value * times
        self.count += times
        if len(self._values) < self._capacity:
            self._times.append(now)
            self._values.append(value)
            self._weights.append(times)
        else:
            slot = self._next
            self._times[slot] = now
            self._values[slot] = value
            self._weights[slot] = times
            self._next = (slot + 1) % self._capacity

    def quantile_values(self, quantiles: Iterable[float], now: float, max_age: float) -> list[float]:
        """Exact weighted quantiles (nearest rank) of the ring's observations younger than ``max_age``.

        :returns: one value per quantile; ``NaN`` when nothing recent is left (as client_golang).
        """
        cutoff = now - max_age
        recent = sorted(
            (value, weight)
            for when, value, weight in zip(self._times, self._values, self._weights, strict=True)
            if when >= cutoff
        )
        total = sum(weight for _, weight in recent)
        out = []
        for q in quantiles:
            if not total:
                out.append(float("nan"))
                continue
            rank = q * total
            running = 0.0
            chosen = recent[-1][0]
            for value, weight in recent:
                running += weight
                if running >= rank:
                    chosen = value
                    break
            out.append(chosen)
        return out


class Family:
    """One exposed metric family: type, name, HELP, options and its series by label tuple."""

    __slots__ = ("kind", "name", "help", "series", "buckets", "summary")

    def __init__(
        self,
        kind: str,
        name: str,
        help_text: str,
        buckets: tuple[float, ...] = DEFAULT_BUCKETS,
        summary: SummaryOptions | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.help = help_text
        self.series: dict[tuple[tuple[str, str], ...], object] = {}
        self.buckets = buckets
        self.summary = summary or SummaryOptions()
