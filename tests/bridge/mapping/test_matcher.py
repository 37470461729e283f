"""Matching StatsD names against a mapping: glob/regex, templates, the cache, and the deploy file."""

from __future__ import annotations

import re

import pytest

from airflow_export.bridge.mapping import (
    Mapper,
    MappingConfig,
    expand_glob_template,
    expand_regex_template,
)
from airflow_export.validation.contract import CONTRACT_METRICS, POOL_GAUGES
from tests.bridge.support import MAPPING_FILE
from tests.bridge.support import load_mapping as load


# -- templates ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "captures", "expected"),
    [
        ("$1", ("a",), "a"),
        ("${1}_x", ("a",), "a_x"),
        ("$1_x", ("a",), ""),
        ("x_$2", ("a",), "x_"),
        ("$0", ("a",), ""),
        ("${1}${2}", ("a", "b"), "ab"),
        ("$1$2", ("a", "b"), ""),
        ("job_${2}_server", ("a", "b"), "job_b_server"),
        ("plain", (), "plain"),
    ],
)
def test_glob_template_like_statsd_exporter_fsm_formatter(
    template: str, captures: tuple[str, ...], expected: str
) -> None:
    assert expand_glob_template(template, captures) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$1", "ab"),
        ("${1}_x", "ab_x"),
        ("$1_x", ""),
        ("$$1", "$1"),
        ("${rest}", "cd"),
        ("$rest.", "cd."),
        ("$9", ""),
        ("a$", "a$"),
        ("${1", "${1"),
        ("$-", "$-"),
        ("$1-$2", "ab-cd"),
    ],
)
def test_regex_template_like_go_regexp_expand(template: str, expected: str) -> None:
    match = re.compile(r"(\w+)\.(?P<rest>.+)").search("ab.cd")
    assert match is not None
    assert expand_regex_template(template, match) == expected


# -- matching ------------------------------------------------------------------------------------------
MATCHING_CONFIG = """
mappings:
- match: test.dispatcher.*.*.*
  name: dispatcher_events_total
  labels: {processor: "$1", action: "$2", outcome: "$3", job: test_dispatcher}
- match: "*.signup.*.*"
  name: signup_events_total
  labels: {provider: "$2", outcome: "$3", job: "${1}_server"}
- match: a.b.*
  name: "ab_${1}"
- match: a.b.c
  name: abc_literal_never_wins
- match: typed.*
  match_metric_type: gauge
  name: typed_gauge
- match: typed.*
  name: typed_other
- match: drop.*.*
  name: dropped
  action: drop
- match: 'glob\\.beats\\.(.*)'
  match_type: regex
  name: regex_listed_first
- match: glob.beats.*
  name: glob_wins
- match: 'regex\\.(\\w+)\\.(?P<rest>.+)'
  match_type: regex
  name: "re_${1}"
  labels: {rest: "${rest}", both: "$1-$2"}
- match: 'only\\.(.*)'
  match_type: regex
  match_metric_type: counter
  name: only_counters
"""

LOOKUPS = [
    (
        "test.dispatcher.FooProcessor.send.success",
        "counter",
        "dispatcher_events_total",
        {"processor": "FooProcessor", "action": "send", "outcome": "success", "job": "test_dispatcher"},
    ),
    (
        "foo_product.signup.facebook.failure",
        "counter",
        "signup_events_total",
        {"provider": "facebook", "outcome": "failure", "job": "foo_product_server"},
    ),
    (
        "test.dispatcher..send.success",
        "counter",
        "dispatcher_events_total",
        {"processor": "", "action": "send", "outcome": "success", "job": "test_dispatcher"},
    ),
    ("a.b.c", "counter", "ab_c", {}),
    ("typed.x", "gauge", "typed_gauge", {}),
    ("typed.x", "counter", "typed_other", {}),
    ("typed.x", "observer", "typed_other", {}),
    ("drop.a.b", "counter", "dropped", {}),
    ("glob.beats.regex", "counter", "glob_wins", {}),
    ("regex.abc.d.e", "gauge", "re_abc", {"rest": "d.e", "both": "abc-d.e"}),
    ("xx.regex.abc.d", "gauge", "re_abc", {"rest": "d", "both": "abc-d"}),
    ("only.x", "counter", "only_counters", {}),
]


@pytest.mark.parametrize(
    ("name", "kind", "expected_name", "expected_labels"), LOOKUPS, ids=[f"{n}/{k}" for n, k, _, _ in LOOKUPS]
)
def test_lookup(name: str, kind: str, expected_name: str, expected_labels: dict[str, str]) -> None:
    found = Mapper(load(MATCHING_CONFIG)).lookup(name, kind)
    assert found is not None
    assert (found.name, found.labels) == (expected_name, expected_labels)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("test.dispatcher.a.b", "counter"),  # one component short
        ("test.dispatcher.a.b.c.d", "counter"),  # one too many
        ("a.b", "counter"),
        ("only.x", "gauge"),  # regex limited to counters
        ("unrelated", "counter"),
    ],
)
def test_no_mapping(name: str, kind: str) -> None:
    assert Mapper(load(MATCHING_CONFIG)).lookup(name, kind) is None


def test_drop_action_is_reported() -> None:
    found = Mapper(load(MATCHING_CONFIG)).lookup("drop.a.b", "counter")
    assert found is not None and found.mapping.action == "drop"


def test_glob_disable_ordering_prefers_the_most_literal_rule() -> None:
    rules = "mappings:\n- match: a.*.c\n  name: star\n- match: a.b.c\n  name: literal\n"
    assert Mapper(load(rules)).lookup("a.b.c", "counter").name == "star"
    unordered = load("defaults:\n  glob_disable_ordering: true\n" + rules)
    assert Mapper(unordered).lookup("a.b.c", "counter").name == "literal"
    assert Mapper(unordered).lookup("a.x.c", "counter").name == "star"


def test_lookup_cache_is_bounded() -> None:
    mapper = Mapper(load(MATCHING_CONFIG), cache_size=3)
    for i in range(10):
        mapper.lookup(f"typed.{i}", "gauge")
        assert len(mapper._cache) <= 3
    assert mapper.lookup("typed.9", "gauge").name == "typed_gauge"


# -- the deploy mapping file -------------------------------------------------------------------------------
DEPLOY_CASES = [
    (
        "airflow.export.requests.csv.success",
        "counter",
        "airflow_export_requests_total",
        {"format": "csv", "status": "success"},
    ),
    (
        "airflow.export.requests.pdf.failed",
        "counter",
        "airflow_export_requests_total",
        {"format": "pdf", "status": "failed"},
    ),
    ("airflow.export.duration.csv", "observer", "airflow_export_duration_seconds", {"format": "csv"}),
    ("airflow.export.records.pdf", "counter", "airflow_export_records_total", {"format": "pdf"}),
    ("airflow.export.bytes.csv", "counter", "airflow_export_bytes_total", {"format": "csv"}),
    ("airflow.export.failures.timeout", "counter", "airflow_export_failures_total", {"reason": "timeout"}),
    ("airflow.export.running", "gauge", "airflow_export_running", {}),
    ("airflow.export.memory_peak.pdf", "gauge", "airflow_export_memory_peak_bytes", {"format": "pdf"}),
    ("airflow.export.throughput.csv", "gauge", "airflow_export_throughput_records_per_second", {"format": "csv"}),
    ("airflow.pool.scheduled_slots.export_pool", "gauge", "airflow_pool_scheduled_slots", {"pool": "export_pool"}),
    ("airflow.pool.queued_slots.export_pool", "gauge", "airflow_pool_queued_slots", {"pool": "export_pool"}),
    ("airflow.pool.running_slots.default_pool", "gauge", "airflow_pool_running_slots", {"pool": "default_pool"}),
    ("airflow.pool.open_slots.export_pool", "gauge", "airflow_pool_open_slots", {"pool": "export_pool"}),
    ("airflow.pool.deferred_slots.export_pool", "gauge", "airflow_pool_deferred_slots", {"pool": "export_pool"}),
    ("airflow.pool.starving_tasks.export_pool", "gauge", "airflow_pool_starving_tasks", {"pool": "export_pool"}),
    ("airflow.pool.open_slots.team.pool", "gauge", "airflow_pool_open_slots", {"pool": "team.pool"}),
    (
        "airflow.ti.finish.my_dag.group.task.success",
        "counter",
        "airflow_ti_finish_total",
        {"dag_id": "my_dag", "task_id": "group.task", "state": "success"},
    ),
]


@pytest.mark.parametrize(
    ("name", "kind", "expected_name", "expected_labels"), DEPLOY_CASES, ids=[c[0] for c in DEPLOY_CASES]
)
def test_deploy_mapping(name: str, kind: str, expected_name: str, expected_labels: dict[str, str]) -> None:
    found = Mapper(MappingConfig.from_file(MAPPING_FILE)).lookup(name, kind)
    assert found is not None and found.mapping.action == "map"
    assert (found.name, found.labels) == (expected_name, expected_labels)


@pytest.mark.parametrize(
    "pool_gauge", ["scheduled_slots", "queued_slots", "running_slots", "open_slots", "deferred_slots", "starving_tasks"]
)
def test_deploy_mapping_drops_the_tagged_duplicate_of_pool_gauges(pool_gauge: str) -> None:
    found = Mapper(MappingConfig.from_file(MAPPING_FILE)).lookup(f"airflow.pool.{pool_gauge}", "gauge")
    assert found is not None and found.mapping.action == "drop"


def test_deploy_mapping_duration_is_the_contract_histogram() -> None:
    found = Mapper(MappingConfig.from_file(MAPPING_FILE)).lookup("airflow.export.duration.pdf", "observer")
    assert found is not None
    assert found.mapping.observer_type == "histogram"
    assert found.mapping.buckets == (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def test_deploy_mapping_covers_the_contract_and_suits_helm_override_mappings() -> None:
    config = MappingConfig.from_file(MAPPING_FILE)
    text = MAPPING_FILE.read_text(encoding="utf-8")
    assert config.warnings == []  # no legacy keys: loads in statsd_exporter after PR #673 too
    assert "\ndefaults:" not in text  # the Helm chart's overrideMappings renders only the list
    header = text.split("\nmappings:")[0]
    assert "prom/statsd-exporter" in header and "statsd.overrideMappings" in header
    mapped = {}
    for mapping in config.mappings:
        if mapping.action == "map" and mapping.match_type == "glob":
            mapped.setdefault(mapping.name, set(mapping.labels))
    for spec in CONTRACT_METRICS:
        assert mapped[spec.name] == set(spec.labels), spec.name
    for pool_gauge in POOL_GAUGES:
        assert mapped[pool_gauge] == {"pool"}, pool_gauge
