"""Bounded storage of the bridged series and their Prometheus exposition.

A *family* is one exposed metric name with one type; a *series* is one label set of a family.
Label sets of different label *names* may share a family, as in statsd_exporter.

Names are reserved per family so the exposition stays valid: a counter ``x`` owns ``x`` and
``x_total``; a gauge ``g`` owns ``g`` and ``g_high_water``; a histogram ``h`` owns ``h``,
``h_bucket``, ``h_sum`` and ``h_count``; a summary ``s`` owns ``s``, ``s_sum`` and ``s_count``. A new
family that would reuse a name owned by another family of a different type is a
:class:`MetricConflict`. Counters follow prometheus-client's convention: ``foo`` and ``foo_total``
are the family ``foo`` exposed as ``foo_total``.

Series budgets (mapped, unmapped, per rule) and why: ``docs/adr/0010-bridge-series-budgets.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from airflow_export.bridge.mapping import DEFAULT_BUCKETS, SummaryOptions
from airflow_export.bridge.series import (
    SUMMARY_WINDOW_LIMIT,
    CounterSeries,
    Family,
    GaugeSeries,
    HistogramSeries,
    SummarySeries,
)

__all__ = [
    "HIGH_WATER_SUFFIX",
    "MAPPED",
    "RULE",
    "UNMAPPED",
    "InvalidLabels",
    "MetricConflict",
    "SeriesLimitExceeded",
    "SeriesRegistry",
    "derived_names",
]

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
        A new series beyond its budget raises :class:`SeriesLimitExceeded`; the other budget is unaffected.
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
        limits = (("max_mapped", max_mapped), ("max_unmapped", max_unmapped), ("max_per_rule", max_per_rule))
        for label, value in limits:
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
            existing = family.series.get(labels)
            if existing is not None:
                return existing
        else:
            self._check_budgets(budget, rule)
            self._check_free(kind, base)
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
        series = _new_series(family)
        family.series[labels] = series
        self.counts[budget] += 1
        if rule is not None:
            self.rule_counts[rule] = self.rule_counts.get(rule, 0) + 1
        return series

    def _check_free(self, kind: str, base: str) -> None:
        """Refuse a new family whose names another family or a reserved name already holds."""
        for owned_name in _owned_names(kind, base):
            if owned_name in self._owner or owned_name.startswith(self._reserved_prefixes):
                holder = self._owner.get(owned_name) or "reserved"
                raise MetricConflict(f"{owned_name} is already used by {holder}")

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
            out.extend(_EXPOSE[family.kind](family, now))
        return out


def _new_series(family: Family) -> object:
    """An empty series of ``family``'s type."""
    if family.kind == "counter":
        return CounterSeries()
    if family.kind == "gauge":
        return GaugeSeries()
    if family.kind == "histogram":
        return HistogramSeries(family.buckets)
    return SummarySeries(min(family.summary.buf_cap, SUMMARY_WINDOW_LIMIT))


def _expose_counter(family: Family, now: float) -> list[Metric]:
    metric = Metric(family.name, family.help, "counter")
    sample_name = family.name + "_total"
    for labels, series in family.series.items():
        metric.add_sample(sample_name, dict(labels), series.value)  # type: ignore[attr-defined]
    return [metric]


def _expose_gauge(family: Family, now: float) -> list[Metric]:
    base = family.name
    metric = Metric(base, family.help, "gauge")
    high = Metric(
        base + HIGH_WATER_SUFFIX, f"Highest value of {base} since the bridge started (high-water mark).", "gauge"
    )
    for labels, series in family.series.items():
        label_dict = dict(labels)
        metric.add_sample(base, label_dict, series.value)  # type: ignore[attr-defined]
        high.add_sample(base + HIGH_WATER_SUFFIX, label_dict, series.high)  # type: ignore[attr-defined]
    return [metric, high]


def _expose_histogram(family: Family, now: float) -> list[Metric]:
    base = family.name
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
    return [metric]


def _expose_summary(family: Family, now: float) -> list[Metric]:
    base = family.name
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
    return [metric]


_EXPOSE: dict[str, Callable[[Family, float], list[Metric]]] = {
    "counter": _expose_counter,
    "gauge": _expose_gauge,
    "histogram": _expose_histogram,
    "summary": _expose_summary,
}
