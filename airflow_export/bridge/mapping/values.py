"""YAML values decoded the way statsd_exporter's Go code (yaml.v2, ``UnmarshalStrict``) decodes them.

Every helper takes ``where`` (the key path, e.g. ``mappings[3].scale``) for its error message.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

__all__ = [
    "MappingError",
    "as_bool",
    "as_buckets",
    "as_float",
    "as_quantiles",
    "as_str",
    "as_uint",
    "check_keys",
    "as_choice",
    "load_strict_yaml",
    "as_match_type",
    "parse_go_duration",
]

_YAML_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_DURATION_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_QUANTILE_KEYS = frozenset(("quantile", "error"))


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


def load_strict_yaml(text: str) -> Any:
    """Parse YAML with safe types only, rejecting duplicate keys.

    :param text: the YAML text.
    :returns: the decoded document (``None`` for empty text).
    :raises MappingError: a duplicate key (the message names its line).
    :raises yaml.YAMLError: invalid YAML.
    """
    return yaml.load(text, Loader=_StrictLoader)


# -- value coercion (yaml.v2 rules, roughly) --------------------------------------------------
def check_keys(obj: Any, allowed: frozenset[str], where: str) -> dict:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise MappingError(f"{where}: expected a mapping, got {type(obj).__name__}")
    for key in obj:
        if key not in allowed:
            raise MappingError(f"{where}: field {key!r} not found (allowed: {', '.join(sorted(allowed))})")
    return obj


def as_str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MappingError(f"{where}: expected a string, got {type(value).__name__}")


def as_bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MappingError(f"{where}: expected true or false, got {value!r}")
    return value


def as_float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise MappingError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _YAML_FLOAT_RE.match(value):
        return float(value)  # e.g. 1e3, a float for yaml.v2 but a string for PyYAML
    if isinstance(value, str) and value.lower() in (".inf", "+.inf"):
        return float("inf")
    raise MappingError(f"{where}: expected a number, got {value!r}")


def as_uint(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**32 - 1:
        raise MappingError(f"{where}: expected an unsigned 32-bit integer, got {value!r}")
    return value


def as_buckets(value: Any, where: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list of numbers, got {type(value).__name__}")
    buckets = [as_float(item, f"{where}[{i}]") for i, item in enumerate(value)]
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


def as_quantiles(value: Any, where: str) -> tuple[tuple[float, float], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list of {{quantile, error}}, got {type(value).__name__}")
    out = []
    for i, item in enumerate(value):
        entry = check_keys(item, _QUANTILE_KEYS, f"{where}[{i}]")
        quantile = as_float(entry.get("quantile", 0.0), f"{where}[{i}].quantile")
        error = as_float(entry.get("error", 0.0), f"{where}[{i}].error")
        if not 0.0 < quantile < 1.0:
            raise MappingError(f"{where}[{i}].quantile: must be between 0 and 1 (exclusive), got {quantile!r}")
        out.append((quantile, error))
    return tuple(out) or None


def as_choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    text = as_str(value, where)
    if text not in allowed:
        raise MappingError(f"{where}: invalid value {text!r} (allowed: {', '.join(repr(a) for a in allowed)})")
    return text


def as_match_type(value: Any, where: str) -> str:
    text = as_str(value, where)
    if text in ("", "glob"):
        return "glob"
    if text == "regex":
        return "regex"
    raise MappingError(f"{where}: invalid match type {text!r} (allowed: 'glob', 'regex')")
