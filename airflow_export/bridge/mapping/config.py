"""Loading and validating a mapping file in statsd_exporter's YAML format.

Sources followed: prometheus/statsd_exporter ``pkg/mapper/mapper.go`` (``InitFromYAMLString``),
``mapping.go`` and ``mapper_defaults.go``, and its README ("Metric Mapping and Configuration").
A file that loads here loads there:

* Unknown keys are errors at every level (top, ``defaults``, each mapping, ``histogram_options``,
  ``summary_options``, each quantile), as are duplicate keys: statsd_exporter parses with
  ``yaml.UnmarshalStrict`` since its PR #673. The legacy keys ``timer_type``, ``buckets`` and
  ``quantiles`` are still accepted (released statsd_exporter versions accept them) but each use is
  reported in :attr:`MappingConfig.warnings` because that PR removed them.
* ``name`` is required (also for ``action: drop``) and must match statsd_exporter's
  ``metricNameRE``; label keys must match ``^[a-zA-Z_][a-zA-Z0-9_]+$`` (two characters or more);
  a glob ``match`` must match ``metricLineRE`` (at least two dot-separated components, each a
  ``*`` or a name like ``a-b_c``); a regex must compile (Python ``re``; keep to the RE2 subset).
* ``observer_type`` ``histogram``/``summary`` for timers (``ms``), ``h`` and ``d``; unset means
  the default (summary, as statsd_exporter). Buckets: ``histogram_options.buckets``, else legacy
  ``buckets``, else ``defaults``, else Prometheus' default buckets; they must increase strictly
  (client_golang panics otherwise; we refuse the file).
* ``histogram_options.native_histogram_bucket_factor``/``native_histogram_max_buckets`` are
  accepted (newer statsd_exporter versions know them) but not applied: classic buckets only.
* Accepted and applied: ``help``, ``honor_labels``, ``scale``, ``action: map|drop``,
  ``match_metric_type: counter|gauge|observer`` (``timer`` is an old alias of ``observer``).
  Accepted but not applied: ``ttl`` (series never expire here; the bridge caps their number
  instead) and ``summary_options.age_buckets`` (see :class:`SummaryOptions`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from airflow_export.bridge.mapping.model import DEFAULT_BUCKETS, MappingDefaults, MetricMapping, SummaryOptions
from airflow_export.bridge.mapping.values import (
    MappingError,
    as_bool,
    as_buckets,
    as_choice,
    as_float,
    as_match_type,
    as_quantiles,
    as_str,
    as_uint,
    check_keys,
    load_strict_yaml,
    parse_go_duration,
)

__all__ = ["MappingConfig"]

_STATSD_METRIC_RE = r"[a-zA-Z_](-?[a-zA-Z0-9_])*"
_TEMPLATE_REPLACE_RE = r"(\$\{?\d+\}?)"
_METRIC_LINE_RE = re.compile(r"^(\*\.|" + _STATSD_METRIC_RE + r"\.)+(\*|" + _STATSD_METRIC_RE + r")$")
_METRIC_NAME_RE = re.compile(
    r"^([a-zA-Z_]|" + _TEMPLATE_REPLACE_RE + r")([a-zA-Z0-9_]|" + _TEMPLATE_REPLACE_RE + r")*$"
)
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+$")


_TOP_KEYS = frozenset(("defaults", "mappings"))
_DEFAULTS_KEYS = frozenset(
    (
        "observer_type",
        "timer_type",
        "buckets",
        "quantiles",
        "match_type",
        "glob_disable_ordering",
        "ttl",
        "summary_options",
        "histogram_options",
    )
)
_MAPPING_KEYS = frozenset(
    (
        "match",
        "name",
        "labels",
        "honor_labels",
        "observer_type",
        "timer_type",
        "buckets",
        "quantiles",
        "match_type",
        "help",
        "action",
        "match_metric_type",
        "ttl",
        "summary_options",
        "histogram_options",
        "scale",
    )
)
_HISTOGRAM_OPTION_KEYS = frozenset(("buckets", "native_histogram_bucket_factor", "native_histogram_max_buckets"))
_NATIVE_HISTOGRAM_KEYS = ("native_histogram_bucket_factor", "native_histogram_max_buckets")
_SUMMARY_OPTION_KEYS = frozenset(("quantiles", "max_age", "age_buckets", "buf_cap"))
_LEGACY_KEYS = ("timer_type", "buckets", "quantiles")
_OBSERVER_TYPES = ("", "histogram", "summary")
_METRIC_TYPES = {"counter": "counter", "gauge": "gauge", "observer": "observer", "timer": "observer"}


def _summary_options(value: Any, where: str, base: SummaryOptions) -> tuple[SummaryOptions, bool]:
    """``summary_options`` over ``base``; returns (options, quantiles_were_given)."""
    raw = check_keys(value, _SUMMARY_OPTION_KEYS, where)
    quantiles = as_quantiles(raw.get("quantiles"), f"{where}.quantiles")
    max_age = parse_go_duration(raw["max_age"], f"{where}.max_age") if "max_age" in raw else 0.0
    age_buckets = as_uint(raw["age_buckets"], f"{where}.age_buckets") if "age_buckets" in raw else 0
    buf_cap = as_uint(raw["buf_cap"], f"{where}.buf_cap") if "buf_cap" in raw else 0
    options = SummaryOptions(
        quantiles=quantiles or base.quantiles,
        max_age=max_age if max_age > 0 else base.max_age,
        age_buckets=age_buckets or base.age_buckets,
        buf_cap=buf_cap or base.buf_cap,
    )
    return options, quantiles is not None


def _native_histogram_options(histogram: dict, where: str, warnings: list[str]) -> None:
    """Check statsd_exporter's native-histogram options; the bridge exposes classic buckets only."""
    given = [key for key in _NATIVE_HISTOGRAM_KEYS if histogram.get(key) is not None]
    for key in given:
        as_float(histogram[key], f"{where}.{key}")
    if given:
        warnings.append(f"{where}: {', '.join(given)} accepted but not applied (classic buckets only)")


# -- the configuration ----------------------------------------------------------------------------
@dataclass
class MappingConfig:
    """A validated mapping file.

    :param defaults: the ``defaults:`` section (with statsd_exporter's defaults filled in).
    :param mappings: the ``mappings:`` entries in file order.
    :param warnings: deprecations and ignored settings found while loading (logged by the bridge).
    :param source: where it came from, for messages.
    """

    defaults: MappingDefaults = field(default_factory=MappingDefaults)
    mappings: list[MetricMapping] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = "<none>"

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MappingConfig:
        """Load and validate a mapping file.

        :param path: a YAML file in statsd_exporter's format.
        :returns: the configuration.
        :raises MappingError: invalid content (message starts with the path).
        :raises OSError: unreadable file.
        """
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        return cls.from_yaml(text, source=os.fspath(path))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> MappingConfig:
        """Parse and validate mapping YAML.

        :param text: the YAML text; empty text means no mappings.
        :param source: a name for messages.
        :returns: the configuration.
        :raises MappingError: invalid YAML, unknown or duplicate keys, bad names, bad matches,
            conflicting options (the message names ``source``, the mapping index and its match).
        """
        try:
            raw = load_strict_yaml(text)
        except MappingError as exc:
            raise MappingError(f"{source}: {exc}") from None
        except yaml.YAMLError as exc:
            raise MappingError(f"{source}: invalid YAML: {exc}") from None
        try:
            return cls._from_raw(raw, source)
        except MappingError as exc:
            raise MappingError(f"{source}: {exc}") from None

    @classmethod
    def _from_raw(cls, raw: Any, source: str) -> MappingConfig:
        top = check_keys(raw, _TOP_KEYS, "top level")
        warnings: list[str] = []
        defaults = cls._defaults(top.get("defaults"), warnings)
        raw_mappings = top.get("mappings")
        if raw_mappings is None:
            raw_mappings = []
        if not isinstance(raw_mappings, list):
            raise MappingError(f"mappings: expected a list, got {type(raw_mappings).__name__}")
        mappings = [cls._mapping(i, item, defaults, warnings) for i, item in enumerate(raw_mappings)]
        return cls(defaults=defaults, mappings=mappings, warnings=warnings, source=source)

    @staticmethod
    def _defaults(value: Any, warnings: list[str]) -> MappingDefaults:
        raw = check_keys(value, _DEFAULTS_KEYS, "defaults")
        for key in _LEGACY_KEYS:
            if key in raw:
                warnings.append(
                    f"defaults.{key} is deprecated (statsd_exporter removed it in PR #673); "
                    "use observer_type / histogram_options.buckets / summary_options.quantiles"
                )
        observer_type = as_choice(raw.get("observer_type"), _OBSERVER_TYPES, "defaults.observer_type")
        if not observer_type:
            observer_type = as_choice(raw.get("timer_type"), _OBSERVER_TYPES, "defaults.timer_type")
        histogram = check_keys(raw.get("histogram_options"), _HISTOGRAM_OPTION_KEYS, "defaults.histogram_options")
        _native_histogram_options(histogram, "defaults.histogram_options", warnings)
        buckets = as_buckets(histogram.get("buckets"), "defaults.histogram_options.buckets")
        if buckets is None:
            buckets = as_buckets(raw.get("buckets"), "defaults.buckets")
        summary, has_quantiles = _summary_options(
            raw.get("summary_options"), "defaults.summary_options", SummaryOptions()
        )
        legacy_quantiles = as_quantiles(raw.get("quantiles"), "defaults.quantiles")
        if legacy_quantiles and not has_quantiles:
            # mapper_defaults.go: the legacy list replaces the whole summary_options
            summary = SummaryOptions(quantiles=legacy_quantiles)
        ttl = parse_go_duration(raw["ttl"], "defaults.ttl") if raw.get("ttl") is not None else 0.0
        if ttl:
            warnings.append("defaults.ttl is accepted but not applied: series never expire in the bridge")
        return MappingDefaults(
            observer_type=observer_type,
            buckets=buckets or DEFAULT_BUCKETS,
            summary=summary,
            match_type=as_match_type(raw.get("match_type"), "defaults.match_type"),
            glob_disable_ordering=as_bool(raw.get("glob_disable_ordering"), "defaults.glob_disable_ordering"),
            ttl=ttl,
        )

    @staticmethod
    def _mapping(index: int, value: Any, defaults: MappingDefaults, warnings: list[str]) -> MetricMapping:
        where = f"mappings[{index}]"
        if isinstance(value, dict) and isinstance(value.get("match"), str):
            where = f"mappings[{index}] (match {value['match']!r})"
        raw = check_keys(value, _MAPPING_KEYS, where)
        match = as_str(raw.get("match"), f"{where}.match")
        for key in _LEGACY_KEYS:
            if key in raw:
                warnings.append(f"{where}: {key} is deprecated (statsd_exporter removed it in PR #673)")
        labels = _labels(raw.get("labels"), where)
        name = as_str(raw.get("name"), f"{where}.name")
        if not name:
            raise MappingError(f"{where}: metric mapping didn't set a metric name")
        if not _METRIC_NAME_RE.match(name):
            raise MappingError(f"{where}: metric name {name!r} doesn't match regex {_METRIC_NAME_RE.pattern!r}")
        match_type = (
            as_match_type(raw["match_type"], f"{where}.match_type") if raw.get("match_type") else defaults.match_type
        )
        action = as_str(raw.get("action"), f"{where}.action") or "map"
        if action not in ("map", "drop"):
            raise MappingError(f"{where}.action: invalid action {action!r} (allowed: 'map', 'drop')")
        observer_type, buckets, summary = _observer(raw, where, defaults, warnings)
        ttl = parse_go_duration(raw["ttl"], f"{where}.ttl") if raw.get("ttl") is not None else defaults.ttl
        if ttl and raw.get("ttl") is not None:
            warnings.append(f"{where}: ttl is accepted but not applied: series never expire in the bridge")
        mapping = MetricMapping(
            index=index,
            match=match,
            name=name,
            labels=labels,
            match_type=match_type,
            match_metric_type=_match_metric_type(raw.get("match_metric_type"), where, warnings),
            action=action,
            observer_type=observer_type,
            buckets=buckets,
            summary=summary,
            help=as_str(raw.get("help"), f"{where}.help"),
            honor_labels=as_bool(raw.get("honor_labels"), f"{where}.honor_labels"),
            scale=as_float(raw["scale"], f"{where}.scale") if raw.get("scale") is not None else None,
            ttl=ttl,
        )
        _compile_match(mapping, where)
        return mapping


def _labels(raw_labels: Any, where: str) -> dict[str, str]:
    """A mapping's ``labels:`` (name -> value template, file order)."""
    if raw_labels is None:
        return {}
    if not isinstance(raw_labels, dict):
        raise MappingError(f"{where}.labels: expected a mapping, got {type(raw_labels).__name__}")
    labels: dict[str, str] = {}
    for key, label_value in raw_labels.items():
        key_text = as_str(key, f"{where}.labels")
        if not _LABEL_NAME_RE.match(key_text):
            raise MappingError(f"{where}: invalid label key: {key_text!r} (must match {_LABEL_NAME_RE.pattern})")
        labels[key_text] = as_str(label_value, f"{where}.labels.{key_text}")
    return labels


def _match_metric_type(value: Any, where: str, warnings: list[str]) -> str:
    """``match_metric_type`` as ``""``, ``counter``, ``gauge`` or ``observer`` (``timer`` warns)."""
    text = as_str(value, f"{where}.match_metric_type")
    if text and text not in _METRIC_TYPES:
        raise MappingError(
            f"{where}.match_metric_type: invalid metric type {text!r} (allowed: 'counter', 'gauge', 'observer')"
        )
    if text == "timer":
        warnings.append(f"{where}: match_metric_type 'timer' is the old name of 'observer'")
    return _METRIC_TYPES.get(text, "")


def _observer(
    raw: dict, where: str, defaults: MappingDefaults, warnings: list[str]
) -> tuple[str, tuple[float, ...] | None, SummaryOptions]:
    """A mapping's ``(observer_type, buckets or None, summary options)``, legacy keys included."""
    observer_type = as_choice(raw.get("observer_type"), _OBSERVER_TYPES, f"{where}.observer_type")
    if not observer_type:
        observer_type = as_choice(raw.get("timer_type"), _OBSERVER_TYPES, f"{where}.timer_type")
    if not observer_type:
        observer_type = defaults.observer_type
    has_histogram_options = raw.get("histogram_options") is not None
    has_summary_options = raw.get("summary_options") is not None
    histogram = check_keys(raw.get("histogram_options"), _HISTOGRAM_OPTION_KEYS, f"{where}.histogram_options")
    _native_histogram_options(histogram, f"{where}.histogram_options", warnings)
    option_buckets = as_buckets(histogram.get("buckets"), f"{where}.histogram_options.buckets")
    legacy_buckets = as_buckets(raw.get("buckets"), f"{where}.buckets")
    summary, summary_has_quantiles = _summary_options(
        raw.get("summary_options"), f"{where}.summary_options", defaults.summary
    )
    legacy_quantiles = as_quantiles(raw.get("quantiles"), f"{where}.quantiles")
    if has_summary_options and legacy_quantiles and summary_has_quantiles:
        raise MappingError(f"{where}: cannot use quantiles in both the top level and summary options at the same time")
    if has_histogram_options and legacy_buckets and option_buckets:
        raise MappingError(f"{where}: cannot use buckets in both the top level and histogram options at the same time")
    if observer_type == "histogram" and has_summary_options:
        raise MappingError(f"{where}: cannot use histogram observer and summary options at the same time")
    if observer_type == "summary" and has_histogram_options:
        raise MappingError(f"{where}: cannot use summary observer and histogram options at the same time")
    if legacy_quantiles:
        summary = SummaryOptions(legacy_quantiles, summary.max_age, summary.age_buckets, summary.buf_cap)
    return observer_type, legacy_buckets or option_buckets, summary


def _compile_match(mapping: MetricMapping, where: str) -> None:
    """Set ``regex`` (a glob becomes an anchored regex), ``glob_priority`` and ``capture_count``."""
    match = mapping.match
    if mapping.match_type == "glob":
        if not _METRIC_LINE_RE.match(match):
            raise MappingError(f"{where}: invalid match: {match!r} (glob must match {_METRIC_LINE_RE.pattern})")
        parts = match.split(".")
        mapping.regex = re.compile(
            "^" + r"\.".join("([^.]*)" if part == "*" else re.escape(part) for part in parts) + "$"
        )
        mapping.glob_priority = tuple(1 if part == "*" else 0 for part in parts)
        mapping.capture_count = parts.count("*")
    else:
        try:
            mapping.regex = re.compile(match)
        except re.error as exc:
            raise MappingError(f"{where}: invalid regex {match!r} in mapping: {exc}") from None
