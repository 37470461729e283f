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

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_QUANTILES",
    "MappingConfig",
    "MappingDefaults",
    "MappingError",
    "MetricMapping",
    "SummaryOptions",
    "parse_go_duration",
]

#: client_golang ``prometheus.DefBuckets`` (seconds), statsd_exporter's default histogram buckets.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: statsd_exporter's default summary objectives, ``(quantile, allowed error)``.
DEFAULT_QUANTILES: tuple[tuple[float, float], ...] = ((0.5, 0.05), (0.9, 0.01), (0.99, 0.001))

_STATSD_METRIC_RE = r"[a-zA-Z_](-?[a-zA-Z0-9_])*"
_TEMPLATE_REPLACE_RE = r"(\$\{?\d+\}?)"
_METRIC_LINE_RE = re.compile(r"^(\*\.|" + _STATSD_METRIC_RE + r"\.)+(\*|" + _STATSD_METRIC_RE + r")$")
_METRIC_NAME_RE = re.compile(
    r"^([a-zA-Z_]|" + _TEMPLATE_REPLACE_RE + r")([a-zA-Z0-9_]|" + _TEMPLATE_REPLACE_RE + r")*$"
)
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]+$")
_YAML_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}

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
_QUANTILE_KEYS = frozenset(("quantile", "error"))
_LEGACY_KEYS = ("timer_type", "buckets", "quantiles")
_OBSERVER_TYPES = ("", "histogram", "summary")
_METRIC_TYPES = {"counter": "counter", "gauge": "gauge", "observer": "observer", "timer": "observer"}


class MappingError(ValueError):
    """A mapping file that statsd_exporter would reject; the message names the file, mapping and key."""


def parse_go_duration(value: Any, where: str) -> float:
    """A Go ``time.Duration`` as written in YAML, in seconds.

    yaml.v2 decodes a duration from a string in ``time.ParseDuration`` syntax (``"1m30s"``,
    ``"500ms"``, ``"0"``; units ns, us/µs, ms, s, m, h) or from an integer count of nanoseconds.

    :param value: the YAML value.
    :param where: where it was found, for the error message.
    :returns: the duration in seconds (may be negative if written so).
    :raises MappingError: not a duration.
    """
    if isinstance(value, bool):
        raise MappingError(f"{where}: expected a duration like '10m', got {value!r}")
    if isinstance(value, int):
        return value * 1e-9
    if not isinstance(value, str) or not value:
        raise MappingError(f"{where}: expected a duration like '10m', got {value!r}")
    text = value
    sign = 1.0
    if text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:]
    if text == "0":
        return 0.0
    total = 0.0
    pos = 0
    for match in _GO_DURATION_RE.finditer(text):
        number = match.group(1)
        if match.start() != pos or number in ("", "."):
            raise MappingError(f"{where}: invalid duration {value!r}")
        total += float(number) * _GO_DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise MappingError(f"{where}: invalid duration {value!r}")
    return sign * total


@dataclass(frozen=True)
class SummaryOptions:
    """Options of a summary (``summary_options``), defaults as client_golang's.

    The bridge computes each quantile exactly over the most recent ``buf_cap`` observations of
    a series (at most :data:`~airflow_export.bridge.registry.SUMMARY_WINDOW_LIMIT`) that are
    younger than ``max_age``, instead of client_golang's streaming estimate over ``age_buckets``
    rotating buckets; ``age_buckets`` is accepted for compatibility and ignored.

    :param quantiles: ``(quantile, error)`` pairs, quantile in (0, 1).
    :param max_age: seconds an observation counts toward the quantiles (default 600).
    :param age_buckets: accepted, unused (default 5).
    :param buf_cap: observations kept per series for the quantiles (default 500).
    """

    quantiles: tuple[tuple[float, float], ...] = DEFAULT_QUANTILES
    max_age: float = 600.0
    age_buckets: int = 5
    buf_cap: int = 500


@dataclass
class MappingDefaults:
    """The ``defaults:`` section.

    :param observer_type: ``""`` (summary), ``"histogram"`` or ``"summary"``.
    :param buckets: histogram buckets for mappings without their own.
    :param summary: summary options for mappings without their own.
    :param match_type: ``"glob"`` or ``"regex"``.
    :param glob_disable_ordering: prefer literal over ``*`` instead of file order.
    :param ttl: seconds; accepted, not applied.
    """

    observer_type: str = ""
    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    summary: SummaryOptions = field(default_factory=SummaryOptions)
    match_type: str = "glob"
    glob_disable_ordering: bool = False
    ttl: float = 0.0


@dataclass
class MetricMapping:
    """One entry of ``mappings:`` after validation and defaulting.

    :param index: position in the file (0-based), used in messages.
    :param match: the glob or regex.
    :param name: the Prometheus name template (``$n`` allowed).
    :param labels: label name -> value template, in file order.
    :param match_type: ``"glob"`` or ``"regex"``.
    :param match_metric_type: ``""`` (any), ``"counter"``, ``"gauge"`` or ``"observer"``.
    :param action: ``"map"`` or ``"drop"``.
    :param observer_type: ``""`` (default), ``"histogram"`` or ``"summary"``.
    :param buckets: histogram buckets (upper bounds, seconds for timers), or ``None`` for the defaults.
    :param summary: summary options, or ``None`` for the defaults.
    :param help: HELP text, ``""`` for the default.
    :param honor_labels: tag labels win over mapping labels of the same name.
    :param scale: factor applied to every value, or ``None``.
    :param ttl: seconds; accepted, not applied.
    """

    index: int
    match: str
    name: str
    labels: dict[str, str]
    match_type: str = "glob"
    match_metric_type: str = ""
    action: str = "map"
    observer_type: str = ""
    buckets: tuple[float, ...] | None = None
    summary: SummaryOptions | None = None
    help: str = ""
    honor_labels: bool = False
    scale: float | None = None
    ttl: float = 0.0
    regex: re.Pattern[str] | None = field(default=None, repr=False)
    glob_priority: tuple[int, ...] = field(default=(), repr=False)
    capture_count: int = 0


# -- YAML with duplicate-key detection ------------------------------------------------------
class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys, like yaml.v2's ``UnmarshalStrict``."""


def _construct_mapping_no_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    seen: set = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue
        if duplicate:
            raise MappingError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_no_duplicates)


# -- value coercion (yaml.v2 rules, roughly) --------------------------------------------------
def _check_keys(obj: Any, allowed: frozenset[str], where: str) -> dict:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise MappingError(f"{where}: expected a mapping, got {type(obj).__name__}")
    for key in obj:
        if key not in allowed:
            raise MappingError(f"{where}: field {key!r} not found (allowed: {', '.join(sorted(allowed))})")
    return obj


def _as_str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MappingError(f"{where}: expected a string, got {type(value).__name__}")


def _as_bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MappingError(f"{where}: expected true or false, got {value!r}")
    return value


def _as_float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise MappingError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _YAML_FLOAT_RE.match(value):
        return float(value)  # e.g. 1e3, a float for yaml.v2 but a string for PyYAML
    if isinstance(value, str) and value.lower() in (".inf", "+.inf"):
        return float("inf")
    raise MappingError(f"{where}: expected a number, got {value!r}")


def _as_uint(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**32 - 1:
        raise MappingError(f"{where}: expected an unsigned 32-bit integer, got {value!r}")
    return value


def _as_buckets(value: Any, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list of numbers, got {type(value).__name__}")
    buckets = [_as_float(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if not buckets:
        return None
    if buckets[-1] == float("inf"):
        buckets.pop()  # client_golang drops a trailing +Inf: it is always added
    for i, bound in enumerate(buckets):
        if not math.isfinite(bound):
            raise MappingError(f"{where}[{i}]: bucket bound must be finite, got {bound!r}")
        if i and bound <= buckets[i - 1]:
            raise MappingError(
                f"{where}: histogram buckets must be in increasing order: {buckets[i - 1]!r} >= {bound!r}"
            )
    return tuple(buckets)


def _as_quantiles(value: Any, where: str) -> tuple[tuple[float, float], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list of {{quantile, error}}, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        entry = _check_keys(item, _QUANTILE_KEYS, f"{where}[{i}]")
        quantile = _as_float(entry.get("quantile", 0.0), f"{where}[{i}].quantile")
        error = _as_float(entry.get("error", 0.0), f"{where}[{i}].error")
        if not 0.0 < quantile < 1.0:
            raise MappingError(f"{where}[{i}].quantile: must be between 0 and 1 (exclusive), got {quantile!r}")
        out.append((quantile, error))
    return tuple(out) or None


def _summary_options(value: Any, where: str, base: SummaryOptions) -> tuple[SummaryOptions, bool]:
    """``summary_options`` over ``base``; returns (options, quantiles_were_given)."""
    raw = _check_keys(value, _SUMMARY_OPTION_KEYS, where)
    quantiles = _as_quantiles(raw.get("quantiles"), f"{where}.quantiles")
    max_age = parse_go_duration(raw["max_age"], f"{where}.max_age") if "max_age" in raw else 0.0
    age_buckets = _as_uint(raw["age_buckets"], f"{where}.age_buckets") if "age_buckets" in raw else 0
    buf_cap = _as_uint(raw["buf_cap"], f"{where}.buf_cap") if "buf_cap" in raw else 0
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
        _as_float(histogram[key], f"{where}.{key}")
    if given:
        warnings.append(f"{where}: {', '.join(given)} accepted but not applied (classic buckets only)")


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    text = _as_str(value, where)
    if text not in allowed:
        raise MappingError(f"{where}: invalid value {text!r} (allowed: {', '.join(repr(a) for a in allowed)})")
    return text


def _match_type(value: Any, where: str) -> str:
    text = _as_str(value, where)
    if text in ("", "glob"):
        return "glob"
    if text == "regex":
        return "regex"
    raise MappingError(f"{where}: invalid match type {text!r} (allowed: 'glob', 'regex')")


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
            raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
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
        top = _check_keys(raw, _TOP_KEYS, "top level")
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
        raw = _check_keys(value, _DEFAULTS_KEYS, "defaults")
        for key in _LEGACY_KEYS:
            if key in raw:
                warnings.append(
                    f"defaults.{key} is deprecated (statsd_exporter removed it in PR #673); "
                    "use observer_type / histogram_options.buckets / summary_options.quantiles"
                )
        observer_type = _choice(raw.get("observer_type"), _OBSERVER_TYPES, "defaults.observer_type")
        if not observer_type:
            observer_type = _choice(raw.get("timer_type"), _OBSERVER_TYPES, "defaults.timer_type")
        histogram = _check_keys(raw.get("histogram_options"), _HISTOGRAM_OPTION_KEYS, "defaults.histogram_options")
        _native_histogram_options(histogram, "defaults.histogram_options", warnings)
        buckets = _as_buckets(histogram.get("buckets"), "defaults.histogram_options.buckets")
        if buckets is None:
            buckets = _as_buckets(raw.get("buckets"), "defaults.buckets")
        summary, has_quantiles = _summary_options(
            raw.get("summary_options"), "defaults.summary_options", SummaryOptions()
        )
        legacy_quantiles = _as_quantiles(raw.get("quantiles"), "defaults.quantiles")
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
            match_type=_match_type(raw.get("match_type"), "defaults.match_type"),
            glob_disable_ordering=_as_bool(raw.get("glob_disable_ordering"), "defaults.glob_disable_ordering"),
            ttl=ttl,
        )

    @staticmethod
    def _mapping(index: int, value: Any, defaults: MappingDefaults, warnings: list[str]) -> MetricMapping:
        where = f"mappings[{index}]"
        if isinstance(value, dict) and isinstance(value.get("match"), str):
            where = f"mappings[{index}] (match {value['match']!r})"
        raw = _check_keys(value, _MAPPING_KEYS, where)
        match = _as_str(raw.get("match"), f"{where}.match")
        for key in _LEGACY_KEYS:
            if key in raw:
                warnings.append(f"{where}: {key} is deprecated (statsd_exporter removed it in PR #673)")

        raw_labels = raw.get("labels")
        if raw_labels is None:
            raw_labels = {}
        if not isinstance(raw_labels, dict):
            raise MappingError(f"{where}.labels: expected a mapping, got {type(raw_labels).__name__}")
        labels: dict[str, str] = {}
        for key, label_value in raw_labels.items():
            key_text = _as_str(key, f"{where}.labels")
            if not _LABEL_NAME_RE.match(key_text):
                raise MappingError(f"{where}: invalid label key: {key_text!r} (must match {_LABEL_NAME_RE.pattern})")
            labels[key_text] = _as_str(label_value, f"{where}.labels.{key_text}")

        name = _as_str(raw.get("name"), f"{where}.name")
        if not name:
            raise MappingError(f"{where}: metric mapping didn't set a metric name")
        if not _METRIC_NAME_RE.match(name):
            raise MappingError(f"{where}: metric name {name!r} doesn't match regex {_METRIC_NAME_RE.pattern!r}")

        match_type = _match_type(raw["match_type"], f"{where}.match_type") if raw.get("match_type") else defaults.match_type
        action = _as_str(raw.get("action"), f"{where}.action") or "map"
        if action not in ("map", "drop"):
            raise MappingError(f"{where}.action: invalid action {action!r} (allowed: 'map', 'drop')")
        metric_type_text = _as_str(raw.get("match_metric_type"), f"{where}.match_metric_type")
        if metric_type_text and metric_type_text not in _METRIC_TYPES:
            raise MappingError(
                f"{where}.match_metric_type: invalid metric type {metric_type_text!r} "
                "(allowed: 'counter', 'gauge', 'observer')"
            )
        if metric_type_text == "timer":
            warnings.append(f"{where}: match_metric_type 'timer' is the old name of 'observer'")
        match_metric_type = _METRIC_TYPES.get(metric_type_text, "")

        observer_type = _choice(raw.get("observer_type"), _OBSERVER_TYPES, f"{where}.observer_type")
        if not observer_type:
            observer_type = _choice(raw.get("timer_type"), _OBSERVER_TYPES, f"{where}.timer_type")
        if not observer_type:
            observer_type = defaults.observer_type

        has_histogram_options = raw.get("histogram_options") is not None
        has_summary_options = raw.get("summary_options") is not None
        histogram = _check_keys(raw.get("histogram_options"), _HISTOGRAM_OPTION_KEYS, f"{where}.histogram_options")
        _native_histogram_options(histogram, f"{where}.histogram_options", warnings)
        option_buckets = _as_buckets(histogram.get("buckets"), f"{where}.histogram_options.buckets")
        legacy_buckets = _as_buckets(raw.get("buckets"), f"{where}.buckets")
        summary, summary_has_quantiles = _summary_options(
            raw.get("summary_options"), f"{where}.summary_options", defaults.summary
        )
        legacy_quantiles = _as_quantiles(raw.get("quantiles"), f"{where}.quantiles")
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

        ttl = parse_go_duration(raw["ttl"], f"{where}.ttl") if raw.get("ttl") is not None else defaults.ttl
        if ttl and raw.get("ttl") is not None:
            warnings.append(f"{where}: ttl is accepted but not applied: series never expire in the bridge")
        scale = _as_float(raw["scale"], f"{where}.scale") if raw.get("scale") is not None else None

        mapping = MetricMapping(
            index=index,
            match=match,
            name=name,
            labels=labels,
            match_type=match_type,
            match_metric_type=match_metric_type,
            action=action,
            observer_type=observer_type,
            buckets=legacy_buckets or option_buckets,
            summary=summary,
            help=_as_str(raw.get("help"), f"{where}.help"),
            honor_labels=_as_bool(raw.get("honor_labels"), f"{where}.honor_labels"),
            scale=scale,
            ttl=ttl,
        )
        if match_type == "glob":
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
        return mapping
