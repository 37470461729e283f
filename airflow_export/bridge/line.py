"""The StatsD line protocol, parsed the way prometheus/statsd_exporter parses it.

Source followed: prometheus/statsd_exporter ``pkg/line/line.go`` (``LineToEvents``) and its
table tests ``pkg/line/line_test.go``. A line is ``<name>:<value>|<type>[|@<rate>][|#<tags>]...``:

* types: ``c`` counter, ``g`` gauge (a leading ``+``/``-`` means a change, not a new value),
  ``ms`` timer (converted from milliseconds to **seconds**), ``h`` histogram and ``d``
  distribution (observed as given); ``s`` (sets) and anything else are ``illegal_event``.
* sample rate ``@r``: a counter value is divided by ``r``; an observer (``ms``/``h``/``d``) is
  observed ``int(1/r)`` times (reported here as ``Sample.times``); gauges ignore it.
* tags: DogStatsD ``|#k:v,k2:v2`` (a leading ``#`` on every tag is tolerated), InfluxDB
  ``name,k=v,k2=v2:...``, Librato ``name#k=v,k2=v2:...`` and SignalFx ``name.[k=v,k2=v2]rest``.
  Tag keys are escaped with :func:`~airflow_export.bridge.mapping.escape.escape_metric_name`; mixing the
  DogStatsD style with a name style rejects the line (``mixed_tagging_styles``).
* several samples per line: ``a:1|c:2|c`` (not with DogStatsD tags), and DogStatsD "extended
  aggregation" ``t:1:2:3|ms`` (only for ``ms``/``h``/``d``).
* DogStatsD ``|c:<container id>`` becomes the label ``container_id``; ``|T<unix ts>`` is checked
  and ignored.

Unlike statsd_exporter, values and sample rates that are not finite (``NaN``, ``Inf``,
``1e400``) are rejected as ``malformed_value`` / ``invalid_sample_factor`` (why:
``docs/adr/0011-own-bridge-statsd-exporter-format.md``).

Error reasons are the ``reason`` label values of statsd_exporter's
``statsd_exporter_sample_errors_total``: ``malformed_line``, ``mixed_tagging_styles``,
``not_enough_parts_after_colon``, ``invalid_extended_aggregate_type``, ``malformed_component``,
``malformed_value``, ``invalid_sample_factor``, ``malformed_container_id``,
``malformed_timestamp``, ``illegal_event``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from airflow_export.bridge.go_numbers import is_go_int, parse_go_float
from airflow_export.bridge.mapping.escape import escape_metric_name

__all__ = [
    "COUNTER",
    "GAUGE",
    "OBSERVER",
    "SAMPLE_ERROR_REASONS",
    "LineParser",
    "Sample",
]

#: Metric kinds of a parsed sample, named as statsd_exporter's ``match_metric_type`` values.
COUNTER = "counter"
GAUGE = "gauge"
OBSERVER = "observer"

SAMPLE_ERROR_REASONS = (
    "malformed_line",
    "mixed_tagging_styles",
    "not_enough_parts_after_colon",
    "invalid_extended_aggregate_type",
    "malformed_component",
    "malformed_value",
    "invalid_sample_factor",
    "malformed_container_id",
    "malformed_timestamp",
    "illegal_event",
)

_OBSERVER_TYPES = frozenset(("ms", "h", "d"))
_NO_LABELS: tuple[tuple[str, str], ...] = ()
_NOTHING: tuple[()] = ()


class Sample(NamedTuple):
    """One parsed StatsD sample (statsd_exporter calls it an event).

    :param name: the StatsD metric name with any name-style tags removed, e.g. ``"airflow.pool.queued_slots"``.
    :param kind: :data:`COUNTER`, :data:`GAUGE` or :data:`OBSERVER`.
    :param value: counters: the value divided by the sample rate; timers (``ms``): seconds;
        ``h``/``d``: as sent; gauges: the new value, or the change if ``relative``.
    :param relative: gauges only: the value began with ``+`` or ``-`` and is a change.
    :param labels: tags as sorted ``(key, value)`` pairs, keys escaped; ``()`` without tags.
    :param times: observers only: how many times to observe ``value`` (``int(1/rate)``); 1 otherwise.
        (Not ``count``: that would hide ``tuple.count``.)
    """

    name: str
    kind: str
    value: float
    relative: bool
    labels: tuple[tuple[str, str], ...]
    times: int


class LineParser:
    """Parse StatsD lines into :class:`Sample` tuples and count what went wrong.

    Counters kept on the instance (they mirror statsd_exporter's self-metrics):
    ``samples`` (``statsd_exporter_samples_total``), ``tags`` (samples that carried tags,
    ``statsd_exporter_tags_total``), ``tag_errors`` (``statsd_exporter_tag_errors_total``),
    ``sample_errors`` (dict reason -> count, ``statsd_exporter_sample_errors_total``) and
    ``line_errors`` (lines with at least one sample error; ours).

    Not thread-safe: the bridge calls it under its lock.

    :param dogstatsd_tags: parse ``|#k:v`` tags (statsd_exporter ``--statsd.parse-dogstatsd-tags``, on by default).
    :param influxdb_tags: parse ``name,k=v`` tags (``--statsd.parse-influxdb-tags``, on by default).
    :param librato_tags: parse ``name#k=v`` tags (``--statsd.parse-librato-tags``, on by default).
    :param signalfx_tags: parse ``name[k=v]`` tags (``--statsd.parse-signalfx-tags``, on by default).
    :param on_error: called as ``on_error(reason, line)`` for every sample error (for logging).
    """

    def __init__(
        self,
        *,
        dogstatsd_tags: bool = True,
        influxdb_tags: bool = True,
        librato_tags: bool = True,
        signalfx_tags: bool = True,
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        self.dogstatsd_tags = dogstatsd_tags
        self.influxdb_tags = influxdb_tags
        self.librato_tags = librato_tags
        self.signalfx_tags = signalfx_tags
        self.on_error = on_error
        self.samples = 0
        self.tags = 0
        self.tag_errors = 0
        self.line_errors = 0
        self.sample_errors: dict[str, int] = dict.fromkeys(SAMPLE_ERROR_REASONS, 0)
        self._line_seq = 0
        self._error_seq = -1

    # -- errors -------------------------------------------------------------------------
    def error(self, reason: str, line: str) -> None:
        """Count one sample error for ``line`` (and the line once in ``line_errors``).

        Public so the bridge can count lines it rejects before parsing (invalid UTF-8).

        :param reason: one of :data:`SAMPLE_ERROR_REASONS`.
        :param line: the offending line, passed on to ``on_error``.
        """
        self.sample_errors[reason] = self.sample_errors.get(reason, 0) + 1
        if self._error_seq != self._line_seq:
            self._error_seq = self._line_seq
            self.line_errors += 1
        if self.on_error is not None:
            self.on_error(reason, line)

    def reject_line(self, reason: str, line: str) -> None:
        """Count a whole line rejected before parsing (e.g. invalid UTF-8) as one sample error.

        :param reason: one of :data:`SAMPLE_ERROR_REASONS` (``malformed_line`` for invalid UTF-8,
            as statsd_exporter).
        :param line: a printable form of the line, for ``on_error``.
        """
        self._line_seq += 1
        self.error(reason, line)

    # -- tags ---------------------------------------------------------------------------
    def _parse_tag(self, tag: str, separator: str, labels: dict[str, str]) -> None:
        """One ``key<sep>value`` tag into ``labels``; empty tag, key or value, or no separator is a tag error."""
        key, sep, value = tag.partition(separator)
        if not sep or not key or not value:
            self.tag_errors += 1
            return
        labels[escape_metric_name(key)] = value

    def _parse_tag_list(self, component: str, separator: str, labels: dict[str, str], strip_hash: bool) -> None:
        """A comma-separated tag list; a trailing comma adds nothing, an empty middle tag is an error."""
        parts = component.split(",")
        if parts and parts[-1] == "":
            parts.pop()  # Go only parses the part after the last comma if it is not empty
        for tag in parts:
            if strip_hash and tag[:1] == "#":
                tag = tag[1:]
            if not tag:
                self.tag_errors += 1
                continue
            self._parse_tag(tag, separator, labels)

    def _split_name_tags(self, name: str, labels: dict[str, str]) -> str:
        """Remove SignalFx, Librato or InfluxDB tags from a name, filling ``labels``."""
        if self.signalfx_tags:
            start = name.find("[")
            end = name.find("]")
            if start != -1 and end != -1:
                if end > start:
                    self._parse_tag_list(name[start + 1 : end], "=", labels, False)
                    return name[:start] + name[end + 1 :]
                # "]" before "[": statsd_exporter would crash slicing; we count a tag error instead
                self.tag_errors += 1
                return name
            if (start != -1) != (end != -1):
                self.tag_errors += 1  # only one bracket: keep the name as it is
                return name
        cut = -1
        if self.librato_tags:
            cut = name.find("#")
        if self.influxdb_tags:
            comma = name.find(",")
            if comma != -1 and (cut == -1 or comma < cut):
                cut = comma
        if cut == -1:
            return name
        self._parse_tag_list(name[cut + 1 :], "=", labels, False)
        return name[:cut]

    # -- lines --------------------------------------------------------------------------
    def parse(self, line: str) -> Sequence[Sample]:
        """Parse one line (no newline) into samples, counting errors on this parser.

        A well-formed ``"a:1|c"`` gives ``[Sample("a", "counter", 1.0, False, (), 1)]``; an
        empty line gives nothing and no error (statsd_exporter ignores it); a bad line gives
        nothing and counts its reason; a line with several samples may give some samples and
        count errors for the others.

        :param line: the line as text.
        :returns: the samples, possibly empty.
        """
        if not line:
            return _NOTHING
        self._line_seq += 1
        name, sep, rest = line.partition(":")
        if not sep or not name:
            self.error("malformed_line", line)
            return _NOTHING
        labels: dict[str, str] = {}
        if ("," in name or "#" in name or "[" in name or "]" in name) and (
            self.influxdb_tags or self.librato_tags or self.signalfx_tags
        ):
            name = self._split_name_tags(name, labels)
        if not labels and ":" not in rest:
            value_text, bar, stat_type = rest.partition("|")
            if bar and "|" not in stat_type:  # the plain "value|type" form of most lines
                return self._parse_plain(name, value_text, stat_type, line)
        raw_samples = self._split_samples(rest, bool(labels), line)
        out: list[Sample] = []
        for raw in raw_samples:
            self.samples += 1
            sample = self._parse_sample(name, raw, labels, line)
            if sample is not None:
                out.append(sample)
        return out

    def _parse_plain(self, name: str, value_text: str, stat_type: str, line: str) -> Sequence[Sample]:
        """``name:value|type`` without tags, rate or other extras."""
        self.samples += 1
        value = parse_go_float(value_text)
        if value is None:
            self.error("malformed_value", line)
            return _NOTHING
        if stat_type == "c":
            return (Sample(name, COUNTER, value, False, _NO_LABELS, 1),)
        if stat_type == "g":
            return (Sample(name, GAUGE, value, value_text[0] in "+-", _NO_LABELS, 1),)
        if stat_type == "ms":
            return (Sample(name, OBSERVER, value / 1000.0, False, _NO_LABELS, 1),)
        if stat_type == "h" or stat_type == "d":
            return (Sample(name, OBSERVER, value, False, _NO_LABELS, 1),)
        self.error("illegal_event", line)
        return _NOTHING

    def _split_samples(self, rest: str, name_tags: bool, line: str) -> Sequence[str]:
        """The ``value|type|extras...`` parts after the name (several samples, extended aggregation)."""
        dogstatsd = "|#" in rest
        if dogstatsd and name_tags:
            self.error("mixed_tagging_styles", line)
            return _NOTHING
        head, bar, tail = rest.partition("|")
        if not bar:
            self.error("not_enough_parts_after_colon", line)
            return _NOTHING
        if ":" in head:
            if tail.partition("|")[0] not in _OBSERVER_TYPES:
                self.error("invalid_extended_aggregate_type", line)
                return _NOTHING
            return [value + "|" + tail for value in head.split(":")]
        if dogstatsd or ":" not in tail:
            return (rest,)
        return rest.split(":")

    def _parse_sample(self, name: str, raw: str, labels: dict[str, str], line: str) -> Sample | None:
        """One ``value|type[|extra...]`` part; ``None`` (error counted) if it is bad or observed 0 times."""
        components = raw.split("|")
        if len(components) < 2 or len(components) > 8:
            self.error("malformed_component", line)
            return None
        value_text, stat_type = components[0], components[1]
        value = parse_go_float(value_text)
        if value is None:
            self.error("malformed_value", line)
            return None
        count = 1
        if len(components) > 2:
            applied = self._apply_extras(components[2:], stat_type, value, labels, line)
            if applied is None:
                return None
            value, count = applied
        if labels:
            self.tags += 1
            label_pairs = tuple(sorted(labels.items()))
        else:
            label_pairs = _NO_LABELS
        if stat_type == "c":
            return Sample(name, COUNTER, value, False, label_pairs, 1)
        if stat_type == "g":
            return Sample(name, GAUGE, value, value_text[0] in "+-", label_pairs, 1)
        if stat_type == "ms" or stat_type == "h" or stat_type == "d":
            if count <= 0:
                return None
            return Sample(name, OBSERVER, value / 1000.0 if stat_type == "ms" else value, False, label_pairs, count)
        self.error("illegal_event", line)  # "s" (sets are not supported) or an unknown type
        return None

    def _apply_extras(
        self, extras: list[str], stat_type: str, value: float, labels: dict[str, str], line: str
    ) -> tuple[float, int] | None:
        """Apply ``|@rate``, ``|#tags``, ``|c:<container id>`` and ``|T<timestamp>``.

        :returns: ``(value, count)`` after the sample rate, or ``None`` (error counted) to drop the sample.
        """
        if "" in extras:
            self.error("malformed_component", line)
            return None
        count = 1
        for extra in extras:
            first = extra[0]
            if first == "@":
                rated = self._apply_rate(extra[1:], stat_type, value, count, line)
                if rated is None:
                    return None
                value, count = rated
            elif first == "#":
                if self.dogstatsd_tags:
                    self._parse_tag_list(extra[1:], ":", labels, True)
            elif first == "c":
                if not (extra.startswith("c:") and len(extra) > 2):
                    self.error("malformed_container_id", line)
                    return None
                labels["container_id"] = extra[2:]
            elif first == "T":
                if len(extra) < 2 or not is_go_int(extra[1:]):
                    self.error("malformed_timestamp", line)
                    return None
            else:
                self.error("invalid_sample_factor", line)
                return None
        return value, count

    def _apply_rate(self, text: str, stat_type: str, value: float, count: int, line: str) -> tuple[float, int] | None:
        """A sample rate: divides a counter's value, sets an observer's count to ``int(1/rate)``."""
        factor = parse_go_float(text)
        if factor is None:
            # statsd_exporter counts the error and goes on with rate 1
            self.error("invalid_sample_factor", line)
            factor = 0.0
        if factor == 0.0:
            factor = 1.0
        if stat_type == "c":
            return value / factor, count
        if stat_type in _OBSERVER_TYPES:
            inverse = 1.0 / factor
            if inverse - inverse != 0.0:  # a subnormal rate: 1/r overflows
                self.error("invalid_sample_factor", line)
                return None
            return value, int(inverse)
        return value, count
