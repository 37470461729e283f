"""Matching StatsD names against a mapping configuration, as statsd_exporter's mapper.

Sources followed: prometheus/statsd_exporter ``pkg/mapper/mapper.go`` (``GetMapping``),
``fsm/fsm.go`` and ``fsm/formatter.go``; Go's ``regexp.Regexp.Expand``.

* Glob ``*`` captures one whole dot-separated component (possibly empty); the first matching glob
  in file order wins (``defaults.glob_disable_ordering: true``: the most literal one wins).
  Regex mappings are tried only when no glob matched, in file order, with an unanchored search.
* ``$1``/``${1}`` in ``name`` and label values: globs use statsd_exporter's FSM formatter (a
  reference to a missing capture becomes empty; ``$1_x`` is read as the capture ``1_x`` and so is
  empty: write ``${1}_x``); regexes use Go's ``Regexp.Expand`` rules (``$$`` is a literal ``$``,
  ``${name}`` a named group).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from airflow_export.bridge.mapping.config import MappingConfig
from airflow_export.bridge.mapping.model import MetricMapping

__all__ = ["Mapper", "MappingMatch", "expand_glob_template", "expand_regex_template"]

_GLOB_TEMPLATE_RE = re.compile(r"\$\{?([a-zA-Z0-9_$]+)\}?")


class MappingMatch(NamedTuple):
    """The result of :meth:`Mapper.lookup` for a matched StatsD name.

    :param mapping: the mapping that matched.
    :param name: the expanded Prometheus name (not yet escaped).
    :param labels: the expanded mapping labels.
    """

    mapping: MetricMapping
    name: str
    labels: dict[str, str]


# -- templates ----------------------------------------------------------------------------------
def expand_glob_template(template: str, captures: tuple[str, ...] | list[str]) -> str:
    """Expand ``$n``/``${n}`` like statsd_exporter's FSM ``TemplateFormatter``.

    :param template: e.g. ``"airflow_${1}_total"``.
    :param captures: the ``*`` captures, first is ``$1``.
    :returns: the expanded text; references that are not a capture number (``$0``, ``$9`` with
        fewer captures, ``$1_x``) become empty.
    """
    if "$" not in template:
        return template

    def substitute(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.isascii() and ref.isdigit():
            index = int(ref)
            if 1 <= index <= len(captures):
                return captures[index - 1]
        return ""

    return _GLOB_TEMPLATE_RE.sub(substitute, template)


def expand_regex_template(template: str, match: re.Match[str]) -> str:
    """Expand a template like Go's ``Regexp.ExpandString``.

    ``$name`` takes the longest run of letters, digits and ``_``; ``${name}`` is explicit;
    a number is a group index, anything else a named group; a missing or unmatched group is
    empty; ``$$`` is a literal ``$``; a ``$`` not followed by a valid reference is kept.

    :param template: e.g. ``"airflow_pool_${1}"``.
    :param match: the regex match.
    :returns: the expanded text.
    """
    if "$" not in template:
        return template
    out: list[str] = []
    rest = template
    groups = match.re.groupindex
    while rest:
        dollar = rest.find("$")
        if dollar < 0:
            out.append(rest)
            break
        out.append(rest[:dollar])
        rest = rest[dollar:]
        if len(rest) > 1 and rest[1] == "$":
            out.append("$")
            rest = rest[2:]
            continue
        brace = len(rest) > 1 and rest[1] == "{"
        pos = 2 if brace else 1
        end = pos
        while end < len(rest) and (rest[end].isalnum() or rest[end] == "_"):
            end += 1
        name = rest[pos:end]
        if not name or (brace and (end >= len(rest) or rest[end] != "}")):
            out.append("$")
            rest = rest[1:]
            continue
        rest = rest[end + 1 :] if brace else rest[end:]
        if name.isascii() and name.isdigit():
            index = int(name)
            if index <= match.re.groups:
                value = match.group(index)
                if value is not None:
                    out.append(value)
        elif name in groups:
            value = match.group(name)
            if value is not None:
                out.append(value)
    return "".join(out)


class Mapper:
    """Find the mapping for a StatsD name, as statsd_exporter's ``MetricMapper.GetMapping``.

    Results (matches and misses) are cached per ``(name, metric kind)`` in a bounded dict that
    is cleared when full.

    :param config: the validated configuration (``MappingConfig()`` for none).
    :param cache_size: entries kept before the cache is cleared.
    """

    def __init__(self, config: MappingConfig | None = None, cache_size: int = 10000) -> None:
        self.config = config or MappingConfig()
        self.cache_size = max(1, cache_size)
        self._globs = [m for m in self.config.mappings if m.match_type == "glob"]
        self._regexes = [m for m in self.config.mappings if m.match_type == "regex"]
        self._ordered = not self.config.defaults.glob_disable_ordering
        self._cache: dict[tuple[str, str], MappingMatch | None] = {}

    def lookup(self, name: str, kind: str) -> MappingMatch | None:
        """The mapping for a StatsD name.

        :param name: the StatsD name without tags, e.g. ``"airflow.export.requests.csv.success"``.
        :param kind: ``"counter"``, ``"gauge"`` or ``"observer"``.
        :returns: the match with expanded name and labels, or ``None`` (unmapped).
        """
        key = (name, kind)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._lookup(name, kind)
        if len(self._cache) >= self.cache_size:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _lookup(self, name: str, kind: str) -> MappingMatch | None:
        best: MetricMapping | None = None
        best_match: re.Match[str] | None = None
        for mapping in self._globs:
            if mapping.match_metric_type and mapping.match_metric_type != kind:
                continue
            found = mapping.regex.match(name)  # type: ignore[union-attr]
            if found is None:
                continue
            if self._ordered:
                best, best_match = mapping, found
                break
            if best is None or mapping.glob_priority < best.glob_priority:
                best, best_match = mapping, found
        if best is not None and best_match is not None:
            captures = best_match.groups()
            return MappingMatch(
                best,
                expand_glob_template(best.name, captures),
                {key: expand_glob_template(value, captures) for key, value in best.labels.items()},
            )
        for mapping in self._regexes:
            found = mapping.regex.search(name)  # type: ignore[union-attr]
            if found is None:
                continue
            if mapping.match_metric_type and mapping.match_metric_type != kind:
                continue
            return MappingMatch(
                mapping,
                expand_regex_template(mapping.name, found),
                {key: expand_regex_template(value, found) for key, value in mapping.labels.items()},
            )
        return None
