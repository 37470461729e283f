"""Mapping YAML: strict loading, validation messages, defaults, legacy keys, Go durations."""

from __future__ import annotations

import pytest

from airflow_export.bridge.mapping import (
    DEFAULT_BUCKETS,
    DEFAULT_QUANTILES,
    MappingConfig,
    MappingError,
    SummaryOptions,
    parse_go_duration,
)
from tests.bridge.support import load_mapping as load

# -- loading errors -----------------------------------------------------------------------------
#: the start of a mapping file with one valid mapping, to which a case adds one bad key
AB = "mappings:\n- match: a.b\n  name: x\n"
A_STAR = "mappings:\n- match: a.*\n  name: x\n"
BAD_CONFIGS = [
    ("unknown top-level key", "foo: 1\n", "top level: field 'foo' not found"),
    (
        "unknown mapping key (typo)",
        "mappings:\n- match: a.b\n  nmae: x\n",
        "mappings[0] (match 'a.b'): field 'nmae' not found",
    ),
    ("unknown defaults key", "defaults:\n  bucket: [1]\n", "defaults: field 'bucket' not found"),
    (
        "unknown histogram_options key",
        AB + "  histogram_options: {native: 1}\n",
        "histogram_options: field 'native' not found",
    ),
    (
        "unknown summary_options key",
        AB + "  summary_options: {max_summary_age: 1m}\n",
        "summary_options: field 'max_summary_age' not found",
    ),
    ("unknown quantile key", AB + "  summary_options: {quantiles: [{q: 0.5}]}\n", "quantiles[0]: field 'q' not found"),
    ("duplicate key", AB + "  name: y\n", "line 4: duplicate key 'name'"),
    ("missing name", "mappings:\n- match: a.b\n", "metric mapping didn't set a metric name"),
    ("name with dash", "mappings:\n- match: a.b\n  name: a-b\n", "metric name 'a-b' doesn't match regex"),
    ("one-letter label key", A_STAR + "  labels: {a: $1}\n", "invalid label key: 'a'"),
    ("label key starting with digit", A_STAR + "  labels: {1a: $1}\n", "invalid label key: '1a'"),
    ("glob with one component", "mappings:\n- match: foo\n  name: x\n", "invalid match: 'foo'"),
    ("glob with empty component", "mappings:\n- match: a..b\n  name: x\n", "invalid match: 'a..b'"),
    ("glob with partial star", "mappings:\n- match: a.b*\n  name: x\n", "invalid match: 'a.b*'"),
    ("bad regex", "mappings:\n- match: '('\n  match_type: regex\n  name: x\n", "invalid regex '(' in mapping"),
    ("unknown action", AB + "  action: keep\n", "invalid action 'keep'"),
    ("fsm match type", AB + "  match_type: fsm\n", "invalid match type 'fsm'"),
    ("unknown observer type", AB + "  observer_type: gauge\n", "observer_type: invalid value 'gauge'"),
    ("unknown metric type", AB + "  match_metric_type: set\n", "invalid metric type 'set'"),
    (
        "buckets not increasing",
        AB + "  observer_type: histogram\n  histogram_options: {buckets: [1, 0.5]}\n",
        "histogram buckets must be in increasing order: 1.0 >= 0.5",
    ),
    (
        "bucket not a number",
        AB + "  histogram_options: {buckets: [fast]}\n",
        "buckets[0]: expected a number, got 'fast'",
    ),
    (
        "histogram with summary options",
        AB + "  observer_type: histogram\n  summary_options: {max_age: 1m}\n",
        "cannot use histogram observer and summary options",
    ),
    (
        "summary with histogram options",
        AB + "  observer_type: summary\n  histogram_options: {buckets: [1]}\n",
        "cannot use summary observer and histogram options",
    ),
    (
        "buckets twice",
        AB + "  buckets: [1]\n  histogram_options: {buckets: [2]}\n",
        "cannot use buckets in both the top level and histogram options",
    ),
    (
        "quantile out of range",
        AB + "  summary_options: {quantiles: [{quantile: 1.5, error: 0.1}]}\n",
        "must be between 0 and 1",
    ),
    ("bad duration", AB + "  ttl: 5 minutes\n", "invalid duration '5 minutes'"),
    ("mappings not a list", "mappings: {match: a.b}\n", "mappings: expected a list, got dict"),
    ("label value is a list", AB + "  labels: {job: [1]}\n", "labels.job: expected a string, got list"),
    ("invalid YAML", "mappings: [\n", "invalid YAML"),
]


@pytest.mark.parametrize(("text", "message"), [case[1:] for case in BAD_CONFIGS], ids=[case[0] for case in BAD_CONFIGS])
def test_invalid_config_is_rejected_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        MappingConfig.from_yaml(text, source="bad.yml")
    assert str(caught.value).startswith("bad.yml: ")
    assert message in str(caught.value)


# -- loading and defaulting -------------------------------------------------------------------------
def test_empty_file_means_no_mappings_and_statsd_exporter_defaults() -> None:
    config = MappingConfig.from_yaml("")
    assert config.mappings == []
    assert config.defaults.observer_type == ""
    assert config.defaults.buckets == DEFAULT_BUCKETS
    assert config.defaults.summary == SummaryOptions(DEFAULT_QUANTILES, 600.0, 5, 500)
    assert config.defaults.match_type == "glob"
    assert config.warnings == []


def test_defaults_apply_to_mappings_without_their_own() -> None:
    config = load(
        """
        defaults:
          observer_type: histogram
          histogram_options: {buckets: [0.5, 1]}
          summary_options: {quantiles: [{quantile: 0.75, error: 0.01}], max_age: 2m, buf_cap: 50}
          match_type: regex
        mappings:
        - match: 'a\\.(.*)'
          name: a
        - match: b.c
          match_type: glob
          name: b
          observer_type: summary
        """
    )
    first, second = config.mappings
    assert (first.match_type, first.observer_type, first.buckets) == ("regex", "histogram", None)
    assert config.defaults.buckets == (0.5, 1.0)
    assert (second.match_type, second.observer_type) == ("glob", "summary")
    assert second.summary == SummaryOptions(((0.75, 0.01),), 120.0, 5, 50)


@pytest.mark.parametrize(
    ("mapping_yaml", "expected_buckets"),
    [
        (
            "histogram_options: {buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]}",
            (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        ),
        ("buckets: [1, 2, 3]", (1.0, 2.0, 3.0)),
        ("histogram_options: {buckets: [1, 2, .inf]}", (1.0, 2.0)),
        ("histogram_options: {buckets: [1e-3, 1e3]}", (0.001, 1000.0)),
        ("", None),
    ],
    ids=[
        "histogram_options",
        "legacy buckets",
        "trailing +Inf dropped",
        "1e3 read as a number like yaml.v2",
        "none: defaults",
    ],
)
def test_histogram_buckets(mapping_yaml: str, expected_buckets: tuple[float, ...] | None) -> None:
    extra = f"  {mapping_yaml}\n" if mapping_yaml else ""
    config = load("mappings:\n- match: a.b\n  name: x\n  observer_type: histogram\n" + extra)
    assert config.mappings[0].buckets == expected_buckets
    assert config.mappings[0].observer_type == "histogram"


def test_native_histogram_options_are_accepted_but_not_applied() -> None:
    config = load(
        """
        mappings:
        - match: a.b
          name: x
          observer_type: histogram
          histogram_options: {buckets: [1, 2], native_histogram_bucket_factor: 1.1, native_histogram_max_buckets: 256}
        """
    )
    assert config.mappings[0].buckets == (1.0, 2.0)
    assert config.warnings == [
        "mappings[0] (match 'a.b').histogram_options: native_histogram_bucket_factor, "
        "native_histogram_max_buckets accepted but not applied (classic buckets only)"
    ]


def test_legacy_keys_still_load_but_warn() -> None:
    config = load(
        """
        defaults:
          timer_type: histogram
          buckets: [1, 2]
        mappings:
        - match: a.b
          name: x
          timer_type: summary
          quantiles: [{quantile: 0.5, error: 0.05}]
        """
    )
    assert config.defaults.observer_type == "histogram"
    assert config.defaults.buckets == (1.0, 2.0)
    assert config.mappings[0].observer_type == "summary"
    assert config.mappings[0].summary.quantiles == ((0.5, 0.05),)
    assert len(config.warnings) == 4
    assert all("deprecated" in warning for warning in config.warnings)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("10m", 600.0),
        ("1m30s", 90.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        ("2us", 2e-6),
        (1_000_000_000, 1.0),
    ],
)
def test_parse_go_duration(value: str | int, seconds: float) -> None:
    assert parse_go_duration(value, "ttl") == pytest.approx(seconds)
