"""Prometheus name escaping, as statsd_exporter's ``mapper.EscapeMetricName``.

Source followed: prometheus/statsd_exporter ``pkg/mapper/escape.go``. Valid characters are
``a-z``, ``A-Z``, ``0-9`` and ``_``; every other character (a multi-byte one counts once)
becomes ``_``; a name starting with a digit gets a leading ``_``; in a run of dashes only
the first one is replaced (``a--b`` -> ``a_b``), so double-dash names keep working the way
they do with a mapping.
"""

from __future__ import annotations

import re

__all__ = ["escape_metric_name", "is_valid_metric_name"]

_VALID_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_INVALID_CHAR = re.compile(r"[^a-zA-Z0-9_]")
_DASH_RUN = re.compile(r"--+")


def is_valid_metric_name(name: str) -> bool:
    """Whether ``name`` needs no escaping (``[a-zA-Z_][a-zA-Z0-9_]*``, ASCII only).

    :param name: any string.
    :returns: ``True`` if :func:`escape_metric_name` would return it unchanged and it is not empty.
    """
    return _VALID_NAME.match(name) is not None


def escape_metric_name(name: str) -> str:
    """Escape a StatsD name (or tag key) into a valid Prometheus metric/label name.

    Examples: ``"a.b-c"`` -> ``"a_b_c"``, ``"0abc"`` -> ``"_0abc"``, ``"a--b"`` -> ``"a_b"``,
    ``"with😱emoji"`` -> ``"with_emoji"``, ``""`` -> ``""``.

    :param name: the raw name (a Python ``str``; invalid UTF-8 never reaches here because the
        bridge rejects such lines first).
    :returns: the escaped name; empty only if ``name`` is empty.
    """
    if not name or _VALID_NAME.match(name) is not None:
        return name
    # a run of dashes counts as one character, then every invalid character becomes "_"
    escaped = _INVALID_CHAR.sub("_", _DASH_RUN.sub("-", name))
    if "0" <= name[0] <= "9":
        return "_" + escaped
    return escaped
