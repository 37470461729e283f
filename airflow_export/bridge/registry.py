"""Bounded storage of the bridged series and their Prometheus exposition.

A *family* is one exposed metric name with one type; a *series* is one label set of a family
(a histogram or summary label set counts as one series, and so does a gauge with its
``_high_water`` companion). Label sets of different label *names* may share a family, as in
statsd_exporter (its registry registers each label-name set as its own unchecked vector).

Names are reserved per family so the exposition stays valid: a counter ``x`` owns ``x`` and
``x_total``; a gauge ``g`` owns ``g`` and ``g_high_water``; a histogram ``h`` owns ``h``,
``h_bucket``, ``h_sum`` and ``h_count``; a summary ``s`` owns ``s``, ``s_sum`` and ``s_count``. A new
family that would reuse a name owned by another family of a different type is a conflict
(statsd_exporter counts these in ``statsd_exporter_events_conflict_total``), not a crash.

Series budgets: a series created by a sample that a mapping rule matched is *mapped*, one created
under statsd_exporter's default naming (no rule matched) is *unmapped*. Each kind has its own cap
(``max_mapped`` and ``max_unmapped``), so a flood of junk or unmapped names can fill only the
unmapped budget and never keeps a mapped series from being created. Within the mapped budget, each
mapping rule may create at most ``max_per_rule`` series (the *rule* budget; a series is charged to
the rule whose sample created it, and updating an existing series costs nothing), so a flood of
label values through one rule (``airflow.pool.open_slots.junk1``, ``junk2``, ...) fills only that
rule's share and never keeps another rule's series from being created. What remains possible: a
flood spread over ``k`` rules at once holds ``min(k * max_per_rule, max_mapped)`` mapped series, so
it can fill the mapped budget (and starve the other rules) once ``k >= ceil(max_mapped /
max_per_rule)``; with ``(rules that map) * max_per_rule <= max_mapped`` it never can. Names in ``protected_names``
(the bridge passes the literal ``name:`` of every mapping rule plus its derived names) are for
mapped samples only: an unmapped sample using one is a conflict, so junk cannot squat a mapped
family with another type or pollute its values.

Counters follow prometheus-client's convention: a counter named ``foo`` or ``foo_total`` is the
family ``foo`` exposed as ``foo_total`` (statsd_exporter exposes an unmapped counter ``foo`` as
``foo``; mapped names ending in ``_total`` are exposed identically by both).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from airflow_export.bridge.mapping_config import DEFAULT_BUCKETS, SummaryOptions

__all__ = [
    "MAPPED",
    "RULE",
    "UNMAPPED",
    "CounterSeries",
    "Family",
    "GaugeSeries",
    "HIGH_WATER_SUFFIX",
    "HistogramSeries",
    "InvalidLabels",
    "MetricConflict",
    "SeriesLimitExceeded",
    "SUMMARY_WINDOW_LIMIT",
    "SeriesRegistry",
    "SummarySeries",
    "derived_names",
]

#: Most observations a summary series keeps for its quantiles (``buf_cap`` is capped to this).
SUMMARY_WINDOW_LIMIT = 200
#: Suffix of the companion series holding a gauge's maximum since start (metric contract).
HIGH_WATER_SUFFIX = "_high_water"

#: Budget names, also the ``kind`` label of the series self-metrics.
MAPPED = "mapped"
UNMAPPED = "unmapped"
#: The per-mapping-rule budget (``kind="rule"`` of ``statsd_bridge_series_dropped_total``).
RULE = "rule"

_FAMILY_KINDS = ("counter", "gauge", "histogram", "summary")
_RESERVED_LABELS = {"histogram": "le", "summary": "quantile"}


class SeriesLimitExceeded(Exception):
    """A new series was refused because its budget (mapped, unmapped or its rule's) is full.

    :ivar budget: :data:`MAPPED`, :data:`UNMAPPED` or :data:`RULE`.
    """

    def __init__(self, budget: str, limit: int) -> None:
        super().__init__(f"{budget} series budget of {limit} is full")
        self.budget = budget


class MetricConflict(Exception):
    """A name is already used by a family of another type (or by one of its derived series)."""


class InvalidLabels(Exception):
    """A label name Prometheus reserves (``__*``, ``le`` on a histogram, ``quantile`` on a summary)."""


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

    def observe(self, value: float, times: int = 1) -> None:
        """Add ``times`` observations of ``value``."""
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


def _owned_names(kind: str, name: str) -> tuple[str, ...]:
    if kind == "counter":
        return (name, name + "_total")
    if kind == "gauge":
        return (name, name + HIGH_WATER_SUFFIX)
    if kind == "histogram":
        return (name, name + "_bucket", name + "_sum", name + "_count")
    return (name, name + "_sum", name + "_count")


def derived_names(name: str) -> tuple[str, ...]:
    """Every exposed name a family called ``name`` could own, whatever its type.

    :param name: an escaped Prometheus name (a trailing ``_total`` is also stripped to its base).
    :returns: ``name``, its base and their ``_total``, ``_high_water``, ``_bucket``, ``_sum``, ``_count``.
    """
    bases = {name}
    if name.endswith("_total") and len(name) > 6:
        bases.add(name[:-6])
    out: set[str] = set()
    for base in bases:
        for kind in _FAMILY_KINDS:
            out.update(_owned_names(kind, base))
    return tuple(sorted(out))


class SeriesRegistry:
    """All bridged series, in capped budgets; not thread-safe (the bridge locks around it).

    :param max_mapped: the most series created by samples a mapping rule matched (all rules together).
    :param max_unmapped: the most series created by samples no rule matched (default naming).
        A sample for a new series beyond its budget raises :class:`SeriesLimitExceeded` (the
        bridge drops and counts it, per budget); the other budget is unaffected.
    :param reserved_names: exact names no bridged family may use (e.g. ``process_*``).
    :param reserved_prefixes: name prefixes no bridged family may use (e.g. ``statsd_bridge_``).
    :param protected_names: exact names only mapped samples may use (see :func:`derived_names`).
    :param max_per_rule: the most series one mapping rule may create (``None``: no per-rule cap, only
        ``max_mapped``). Checked before ``max_mapped``: a new series of a rule at its cap is refused
        with budget :data:`RULE` even when the mapped budget is full too.
    """

    def __init__(
        self,
        max_mapped: int,
        max_unmapped: int,
        reserved_names: Iterable[str] = (),
        reserved_prefixes: Iterable[str] = (),
        protected_names: Iterable[str] = (),
        max_per_rule: int | None = None,
    ) -> None:
        for label, value in (("max_mapped", max_mapped), ("max_unmapped", max_unmapped), ("max_per_rule", max_per_rule)):
            if value is not None and value < 0:
                raise ValueError(f"{label} must be >= 0, got {value}")
        self.limits = {MAPPED: max_mapped, UNMAPPED: max_unmapped}
        self.counts = {MAPPED: 0, UNMAPPED: 0}
        self.max_per_rule = max_per_rule
        #: series created per mapping rule (by :attr:`MetricMapping.index`); rules appear once they create one
        self.rule_counts: dict[int, int] = {}
        self.families: dict[str, Family] = {}
        self._owner: dict[str, str] = {name: "" for name in reserved_names}
        self._reserved_prefixes = tuple(reserved_prefixes)
        self._protected = frozenset(protected_names)

    @property
    def series_count(self) -> int:
        """Series held, both budgets together."""
        return self.counts[MAPPED] + self.counts[UNMAPPED]

    def get_series(
        self,
        kind: str,
        name: str,
        labels: tuple[tuple[str, str], ...],
        help_text: str,
        buckets: tuple[float, ...] | None = None,
        summary: SummaryOptions | None = None,
        mapped: bool = True,
        rule: int | None = None,
    ) -> object:
        """The series for ``(name, labels)``, created if new.

        :param kind: ``"counter"``, ``"gauge"``, ``"histogram"`` or ``"summary"``.
        :param name: the escaped Prometheus name (a counter's ``_total`` suffix is optional).
        :param labels: sorted ``(name, value)`` pairs.
        :param help_text: HELP for a new family (the first one wins).
        :param buckets: histogram buckets for a new family (the first one wins).
        :param summary: summary options for a new family (the first one wins).
        :param mapped: the sample matched a mapping rule (charged to the mapped budget) or not
            (unmapped budget; refused on a protected name).
        :param rule: the index of the mapping rule that matched, charged a new series against
            ``max_per_rule`` (``None``: no rule budget applies).
        :returns: a :class:`CounterSeries`, :class:`GaugeSeries`, :class:`HistogramSeries` or :class:`SummarySeries`.
        :raises MetricConflict: the name belongs to a family of another type.
        :raises InvalidLabels: a reserved label name.
        :raises SeriesLimitExceeded: a new series while its rule's or its kind's budget is full.
        """
        base = name[:-6] if kind == "counter" and name.endswith("_total") and len(name) > 6 else name
        budget = MAPPED if mapped else UNMAPPED
        if not mapped and self._protected:
            for owned_name in _owned_names(kind, base):
                if owned_name in self._protected:
                    raise MetricConflict(f"{owned_name} is reserved for mapped metrics")
        family = self.families.get(base)
        if family is not None:
            if family.kind != kind:
                raise MetricConflict(f"{base} is a {family.kind}, not a {kind}")
            series = family.series.get(labels)
            if series is not None:
                return series
        else:
            self._check_budgets(budget, rule)
            owned = _owned_names(kind, base)
            for owned_name in owned:
                if owned_name in self._owner or owned_name.startswith(self._reserved_prefixes):
                    holder = self._owner.get(owned_name) or "reserved"
                    raise MetricConflict(f"{owned_name} is already used by {holder}")
        reserved_label = _RESERVED_LABELS.get(kind)
        for label_name, _ in labels:
            if label_name.startswith("__") or label_name == reserved_label:
                raise InvalidLabels(f"label {label_name!r} is reserved for a {kind}")
        self._check_budgets(budget, rule)
        if family is None:
            family = Family(kind, base, help_text, buckets or DEFAULT_BUCKETS, summary)
            self.families[base] = family
            for owned_name in _owned_names(kind, base):
                self._owner[owned_name] = base
        if kind == "counter":
            series: object = CounterSeries()
        elif kind == "gauge":
            series = GaugeSeries()
        elif kind == "histogram":
            series = HistogramSeries(family.buckets)
        else:
            series = SummarySeries(min(family.summary.buf_cap, SUMMARY_WINDOW_LIMIT))
        family.series[labels] = series
        self.counts[budget] += 1
        if rule is not None:
            self.rule_counts[rule] = self.rule_counts.get(rule, 0) + 1
        return series

    def _check_budgets(self, budget: str, rule: int | None) -> None:
        limit = self.max_per_rule
        if rule is not None and limit is not None and self.rule_counts.get(rule, 0) >= limit:
            raise SeriesLimitExceeded(RULE, limit)
        if self.counts[budget] >= self.limits[budget]:
            raise SeriesLimitExceeded(budget, self.limits[budget])

    def collect(self, now: float) -> list[Metric]:
        """The exposition of every family, sorted by name.

        :param now: monotonic time, for the summaries' ``max_age`` window.
        :returns: prometheus-client :class:`Metric` objects (counters as ``<name>_total``,
            gauges followed by their ``<name>_high_water`` family, histograms with cumulative
            ``_bucket{le=...}`` plus ``_count`` and ``_sum``, summaries with ``{quantile=...}``
            plus ``_sum`` and ``_count``).
        """
        out: list[Metric] = []
        for base in sorted(self.families):
            family = self.families[base]
            kind = family.kind
            if kind == "counter":
                metric = Metric(base, family.help, "counter")
                sample_name = base + "_total"
                for labels, series in family.series.items():
                    metric.add_sample(sample_name, dict(labels), series.value)  # type: ignore[attr-defined]
                out.append(metric)
            elif kind == "gauge":
                metric = Metric(base, family.help, "gauge")
                high = Metric(
                    base + HIGH_WATER_SUFFIX,
                    f"Highest value of {base} since the bridge started (high-water mark).",
                    "gauge",
                )
                for labels, series in family.series.items():
                    label_dict = dict(labels)
                    metric.add_sample(base, label_dict, series.value)  # type: ignore[attr-defined]
                    high.add_sample(base + HIGH_WATER_SUFFIX, label_dict, series.high)  # type: ignore[attr-defined]
                out.append(metric)
                out.append(high)
            elif kind == "histogram":
                metric = Metric(base, family.help, "histogram")
                bounds = [floatToGoString(bound) for bound in family.buckets] + ["+Inf"]
                for labels, series in family.series.items():
                    label_dict = dict(labels)
                    cumulative = 0
                    for bound, bucket_count in zip(bounds, series.counts, strict=True):  # type: ignore[attr-defined]
                        cumulative += bucket_count
                        metric.add_sample(base + "_bucket", {**label_dict, "le": bound}, cumulative)
                    metric.add_sample(base + "_count", label_dict, series.count)  # type: ignore[attr-defined]
                    metric.add_sample(base + "_sum", label_dict, series.sum)  # type: ignore[attr-defined]
                out.append(metric)
            else:
                metric = Metric(base, family.help, "summary")
                options = family.summary
                quantiles = [q for q, _ in options.quantiles]
                labels_q = [floatToGoString(q) for q in quantiles]
                for labels, series in family.series.items():
                    label_dict = dict(labels)
                    values = series.quantile_values(quantiles, now, options.max_age)  # type: ignore[attr-defined]
                    for q_label, value in zip(labels_q, values, strict=True):
                        metric.add_sample(base, {**label_dict, "quantile": q_label}, value)
                    metric.add_sample(base + "_sum", label_dict, series.sum)  # type: ignore[attr-defined]
                    metric.add_sample(base + "_count", label_dict, series.count)  # type: ignore[attr-defined]
                out.append(metric)
        return out
