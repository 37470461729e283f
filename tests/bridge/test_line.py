"""The StatsD line parser against exact expected samples and error counts.

Most cases are taken from statsd_exporter's ``pkg/line/line_test.go`` (same input, same
expected events); the others pin our documented differences (non-finite values refused).
"""

from __future__ import annotations

import pytest

from airflow_export.bridge.line import (
    COUNTER,
    GAUGE,
    OBSERVER,
    LineParser,
    Sample,
)

C, G, OB = COUNTER, GAUGE, OBSERVER
TAGS = (("tag1", "bar"), ("tag2", "baz"))


def S(name: str, kind: str, value: float, relative: bool = False, labels=(), count: int = 1) -> Sample:  # noqa: N802
    return Sample(name, kind, value, relative, tuple(labels), count)


# (id, line, expected samples, expected sample errors {reason: n}, expected tag errors)
CASES = [
    ("simple counter", "foo:2|c", [S("foo", C, 2.0)], {}, 0),
    ("simple gauge", "foo:3|g", [S("foo", G, 3.0)], {}, 0),
    ("gauge ignores sampling", "foo:3|g|@0.2", [S("foo", G, 3.0)], {}, 0),
    ("gauge decrement is relative", "foo:-10|g", [S("foo", G, -10.0, True)], {}, 0),
    ("gauge increment is relative", "foo:+5|g", [S("foo", G, 5.0, True)], {}, 0),
    ("timer in ms becomes seconds", "foo:200|ms", [S("foo", OB, 0.2)], {}, 0),
    ("handed timer 320ms", "t:320|ms", [S("t", OB, 0.32)], {}, 0),
    ("histogram as given", "foo:200|h", [S("foo", OB, 200.0)], {}, 0),
    ("distribution as given", "foo:200|d", [S("foo", OB, 200.0)], {}, 0),
    (
        "distribution sampled 0.2 observed 5 times",
        "foo:0.01|d|@0.2|#tag1:bar,#tag2:baz",
        [S("foo", OB, 0.01, labels=TAGS, count=5)],
        {},
        0,
    ),
    ("timer sampled 0.3 observed int(1/0.3)=3 times", "foo:100|ms|@0.3", [S("foo", OB, 0.1, count=3)], {}, 0),
    ("observer with rate above 1 gives no event", "foo:1|ms|@2", [], {}, 0),
    ("counter sample rate divides", "c:1|c|@0.1", [S("c", C, 10.0)], {}, 0),
    ("counter sample rate 0 means 1", "foo:4|c|@0", [S("foo", C, 4.0)], {}, 0),
    ("librato tags", "foo#tag1=bar,tag2=baz:100|c", [S("foo", C, 100.0, labels=TAGS)], {}, 0),
    (
        "librato tag keys escaped",
        "foo#09digits=0,tag.with.dots=1:100|c",
        [S("foo", C, 100.0, labels=(("_09digits", "0"), ("tag_with_dots", "1")))],
        {},
        0,
    ),
    ("influxdb tags", "foo,tag1=bar,tag2=baz:100|c", [S("foo", C, 100.0, labels=TAGS)], {}, 0),
    (
        "influxdb airflow pool form",
        "airflow.pool.queued_slots,pool_name=export_pool:3|g",
        [S("airflow.pool.queued_slots", G, 3.0, labels=(("pool_name", "export_pool"),))],
        {},
        0,
    ),
    ("influxdb empty key and empty value", "foo,=a,b=:1|c", [S("foo", C, 1.0)], {}, 2),
    ("signalfx tags in the middle", "foo.[tag1=bar,tag2=baz]test:100|c", [S("foo.test", C, 100.0, labels=TAGS)], {}, 0),
    ("signalfx tags at the start", "[tag1=bar,tag2=baz]foo.test:100|c", [S("foo.test", C, 100.0, labels=TAGS)], {}, 0),
    (
        "signalfx missing closing bracket",
        "[tag1=bar,tag2=bazfoo.test:100|c",
        [S("[tag1=bar,tag2=bazfoo.test", C, 100.0)],
        {},
        1,
    ),
    ("signalfx brackets reversed (statsd_exporter would crash)", "a]b[c:1|c", [S("a]b[c", C, 1.0)], {}, 1),
    ("dogstatsd tags", "foo:100|c|#tag1:bar,tag2:baz", [S("foo", C, 100.0, labels=TAGS)], {}, 0),
    ("dogstatsd # on every tag", "foo:100|c|#tag1:bar,#tag2:baz", [S("foo", C, 100.0, labels=TAGS)], {}, 0),
    ("dogstatsd valueless tag ignored", "foo:100|c|#tag_without_a_value", [S("foo", C, 100.0)], {}, 1),
    ("dogstatsd empty middle tag", "foo:100|c|#tag:value,,", [S("foo", C, 100.0, labels=(("tag", "value"),))], {}, 1),
    ("dogstatsd tags with sampling", "foo:100|c|@0.1|#tag1:bar,#tag2:baz", [S("foo", C, 1000.0, labels=TAGS)], {}, 0),
    (
        "dogstatsd value with colons",
        "foo:100|c|@0.1|#tag1:foo:bar",
        [S("foo", C, 1000.0, labels=(("tag1", "foo:bar"),))],
        {},
        0,
    ),
    (
        "dogstatsd container id",
        "foo:1|c|#t:v|c:abc123",
        [S("foo", C, 1.0, labels=(("container_id", "abc123"), ("t", "v")))],
        {},
        0,
    ),
    ("dogstatsd timestamp ignored", "foo:1|c|T1656581400", [S("foo", C, 1.0)], {}, 0),
    (
        "extended aggregation",
        "foo_timing:0.5:120:3000|ms|#tag1:bar",
        [
            S("foo_timing", OB, 0.0005, labels=(("tag1", "bar"),)),
            S("foo_timing", OB, 0.12, labels=(("tag1", "bar"),)),
            S("foo_timing", OB, 3.0, labels=(("tag1", "bar"),)),
        ],
        {},
        0,
    ),
    ("several samples in one line", "a:1|c:2|c", [S("a", C, 1.0), S("a", C, 2.0)], {}, 0),
    ("several samples, one bad", "a:1|c:x|c", [S("a", C, 1.0)], {"malformed_value": 1}, 0),
    ("go hex float", "foo:0x1p-2|g", [S("foo", G, 0.25)], {}, 0),
    ("negative counter is parsed (the bridge refuses it)", "foo:-1|c", [S("foo", C, -1.0)], {}, 0),
    ("empty line: nothing, no error", "", [], {}, 0),
    ("no colon", "bad", [], {"malformed_line": 1}, 0),
    ("empty name", ":1|c", [], {"malformed_line": 1}, 0),
    ("huge name without value", "h" * 5000, [], {"malformed_line": 1}, 0),
    ("no type", "foo:1", [], {"not_enough_parts_after_colon": 1}, 0),
    ("empty value", "foo:|c", [], {"malformed_value": 1}, 0),
    ("NaN refused (statsd_exporter accepts it)", "foo:NaN|g", [], {"malformed_value": 1}, 0),
    ("Inf refused", "foo:Inf|c", [], {"malformed_value": 1}, 0),
    ("overflow refused", "foo:1e400|c", [], {"malformed_value": 1}, 0),
    ("whitespace refused like Go", "foo: 1|c", [], {"malformed_value": 1}, 0),
    ("underscore digits refused like Go", "foo:1_000|c", [], {"malformed_value": 1}, 0),
    ("sets unsupported", "foo:1|s", [], {"illegal_event": 1}, 0),
    ("unknown type", "foo:1|zz", [], {"illegal_event": 1}, 0),
    ("carriage return is part of the type", "foo:1|c\r", [], {"illegal_event": 1}, 0),
    ("empty component", "foo:1|c|", [], {"malformed_component": 1}, 0),
    ("nine components", "foo:1|c|@1|@1|@1|@1|@1|@1|@1", [], {"malformed_component": 1}, 0),
    ("unknown component", "foo:1|c|x", [], {"invalid_sample_factor": 1}, 0),
    (
        "bad sample rate counted but applied as rate 1",
        "foo:1|c|@abc",
        [S("foo", C, 1.0)],
        {"invalid_sample_factor": 1},
        0,
    ),
    ("container id without value", "foo:1|c|c", [], {"malformed_container_id": 1}, 0),
    ("bad timestamp", "foo:1|c|Tabc", [], {"malformed_timestamp": 1}, 0),
    (
        "mixed librato and dogstatsd tags",
        "foo#tag1=foo,tag3=bing:100|c|#tag1:bar,#tag2:baz",
        [],
        {"mixed_tagging_styles": 1},
        0,
    ),
    (
        "mixed influxdb and dogstatsd tags",
        "foo,tag1=foo,tag3=bing:100|c|#tag1:bar,#tag2:baz",
        [],
        {"mixed_tagging_styles": 1},
        0,
    ),
    ("extended aggregation needs an observer type", "foo:1:2|g", [], {"invalid_extended_aggregate_type": 1}, 0),
    ("dogstatsd tags disable multi-metric lines", "foo:1|c:2|c|#a:b", [], {"malformed_container_id": 1}, 0),
]


@pytest.mark.parametrize(
    ("line", "expected", "errors", "tag_errors"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_parse_line(line: str, expected: list[Sample], errors: dict[str, int], tag_errors: int) -> None:
    parser = LineParser()
    samples = list(parser.parse(line))
    assert samples == expected
    assert {reason: n for reason, n in parser.sample_errors.items() if n} == errors
    assert parser.tag_errors == tag_errors
    assert parser.line_errors == (1 if errors else 0)


def test_counts_samples_tags_and_lines_with_errors() -> None:
    parser = LineParser()
    for line in ("a:1|c:x|c:y|c", "b:1|c|#k:v", "c:1|g", "", "bad"):
        parser.parse(line)
    assert parser.samples == 5  # 3 + 1 + 1; empty and "bad" lines have no samples
    assert parser.tags == 1
    assert parser.sample_errors["malformed_value"] == 2
    assert parser.sample_errors["malformed_line"] == 1
    assert parser.line_errors == 2  # two errors in the first line count once


def test_error_hook_receives_reason_and_line() -> None:
    seen: list[tuple[str, str]] = []
    parser = LineParser(on_error=lambda reason, line: seen.append((reason, line)))
    parser.parse("x:1|c")
    parser.parse("x:1|q")
    assert seen == [("illegal_event", "x:1|q")]


@pytest.mark.parametrize(
    ("options", "line", "expected"),
    [
        ({"influxdb_tags": False}, "foo,tag=a:1|c", [S("foo,tag=a", C, 1.0)]),
        ({"librato_tags": False}, "foo#tag=a:1|c", [S("foo#tag=a", C, 1.0)]),
        ({"signalfx_tags": False}, "foo.[tag=a]bar:1|c", [S("foo.[tag=a]bar", C, 1.0)]),
        ({"dogstatsd_tags": False}, "foo:1|c|#tag:a", [S("foo", C, 1.0)]),
    ],
    ids=["influxdb off", "librato off", "signalfx off", "dogstatsd off"],
)
def test_tag_styles_can_be_disabled(options: dict, line: str, expected: list[Sample]) -> None:
    assert list(LineParser(**options).parse(line)) == expected
