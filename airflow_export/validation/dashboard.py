"""Metric names used by a Grafana dashboard's PromQL, to check them against the contract.

A careful regex, not a PromQL parser: string literals, ``[...]`` ranges, ``{...}`` label
matchers, grouping clauses (``by (...)``, ``on (...)``...) and Grafana variables are removed,
then every identifier that is not a function call (followed by ``(``), a keyword or part of
a number is a metric name. Grammar followed: the PromQL docs
(https://prometheus.io/docs/prometheus/latest/querying/basics/, ``operators/``); dashboard
JSON: Grafana's dashboard model (``panels[].targets[].expr``, rows nesting ``panels``,
``templating.list[].query``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "metric_names_in_dashboard",
    "panel_expressions",
    "promql_metric_names",
    "variable_metric_names",
]

# Grafana variables: ${name}, ${name:fmt}, $name, [[name]].
_GRAFANA_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\]")
_NAME_MATCHER = re.compile(r"""__name__\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_COMMENT = re.compile(r"#[^\n]*")
_RANGE = re.compile(r"\[[^\]]*\]")
_MATCHERS = re.compile(r"\{[^}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE)
# An identifier not preceded by a name character, a dot or a digit (so not the "m" of "5m"
# or the "e3" of "1e3"), taken whole, and not followed by "(" (a function or aggregation).
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "atan2",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
    }
)
_LABEL_VALUES = re.compile(r"^\s*label_values\s*\((.*)\)\s*$", re.DOTALL)
_METRIC_OR_SERIES_QUERY = re.compile(r"^\s*(?:metrics|query_result|label_names)\s*\((.*)\)\s*$", re.DOTALL)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression selects.

    :param expr: PromQL, possibly with Grafana variables (``$__rate_interval``, ``$format``).
    :returns: e.g. ``{"airflow_export_duration_seconds_bucket"}`` for
        ``histogram_quantile(0.95, sum by (le) (rate(airflow_export_duration_seconds_bucket[5m])))``;
        names given as ``{__name__="..."}`` are included.
    """
    names = {a or b for a, b in _NAME_MATCHER.findall(expr)}
    text = _GRAFANA_VARIABLE.sub(" ", expr)
    text = _STRING.sub('""', text)
    text = _COMMENT.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\b(?:group_left|group_right)\b", " ", text, flags=re.IGNORECASE)
    for name in _IDENTIFIER.findall(text):
        if name.lower() not in _KEYWORDS:
            names.add(name)
    return names


def variable_metric_names(query: str) -> set[str]:
    """The metric names a Grafana Prometheus variable query selects.

    :param query: ``label_values(metric{...}, label)``, ``label_values(label)``,
        ``query_result(<promql>)`` or plain PromQL.
    :returns: the metric names (none for ``label_values(label)`` or ``metrics(regex)``).
    """
    match = _LABEL_VALUES.match(query)
    if match:
        # label_values(label) has no selector; label_values(selector, label) has one.
        with_selector = re.match(r"^(.*),\s*[A-Za-z_]\w*\s*$", match.group(1), re.DOTALL)
        return promql_metric_names(with_selector.group(1)) if with_selector else set()
    if re.match(r"^\s*(?:metrics|label_names)\s*\(", query):
        return set()
    match = _METRIC_OR_SERIES_QUERY.match(query)
    return promql_metric_names(match.group(1) if match else query)


def _panels(panels: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def panel_expressions(dashboard: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every PromQL expression of every panel, rows' nested panels included.

    :param dashboard: the dashboard JSON as a dict.
    :returns: ``(panel title, expr)`` pairs in panel order; targets without ``expr`` are
        left out.
    """
    return [
        (panel.get("title", ""), target["expr"])
        for panel in _panels(dashboard.get("panels", []))
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def metric_names_in_dashboard(path: str | Path, include_variables: bool = True) -> set[str]:
    """All metric names a dashboard file queries.

    :param path: a Grafana dashboard JSON file.
    :param include_variables: also read the templating variables' queries.
    :returns: metric names as they appear in the queries (``..._bucket``, ``..._high_water``).
    :raises ValueError: the file is not JSON (``json.JSONDecodeError``).
    """
    dashboard = json.loads(Path(path).read_text(encoding="utf-8"))
    names: set[str] = set()
    for _title, expr in panel_expressions(dashboard):
        names |= promql_metric_names(expr)
    if include_variables:
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable.get("query")
            if isinstance(query, Mapping):
                query = query.get("query", "")
            if variable.get("type") == "query" and query:
                names |= variable_metric_names(query)
    return names
