"""statsd_exporter's mapping file: loading and validating it, and matching StatsD names against it.

Follows prometheus/statsd_exporter ``pkg/mapper``:

* :mod:`.values` - YAML values decoded as statsd_exporter's Go code decodes them.
* :mod:`.model` - the validated parts (defaults, one mapping, summary options).
* :mod:`.config` - :class:`MappingConfig`: loading and validating a file.
* :mod:`.matcher` - :class:`Mapper`: glob/regex matching and ``$n`` templates.
* :mod:`.escape` - Prometheus name escaping.
"""

from __future__ import annotations

from airflow_export.bridge.mapping.config import MappingConfig
from airflow_export.bridge.mapping.escape import escape_metric_name, is_valid_metric_name
from airflow_export.bridge.mapping.matcher import Mapper, MappingMatch, expand_glob_template, expand_regex_template
from airflow_export.bridge.mapping.model import (
    DEFAULT_BUCKETS,
    DEFAULT_QUANTILES,
    MappingDefaults,
    MetricMapping,
    SummaryOptions,
)
from airflow_export.bridge.mapping.values import MappingError, parse_go_duration

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_QUANTILES",
    "Mapper",
    "MappingConfig",
    "MappingDefaults",
    "MappingError",
    "MappingMatch",
    "MetricMapping",
    "SummaryOptions",
    "escape_metric_name",
    "expand_glob_template",
    "expand_regex_template",
    "is_valid_metric_name",
    "parse_go_duration",
]
