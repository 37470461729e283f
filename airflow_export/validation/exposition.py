"""Reading a Prometheus text exposition: samples by name and labels, histogram buckets.

Parsing is done by ``prometheus_client.parser.text_string_to_metric_families`` (the text
format 0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/). Samples are
then handled flat, by *sample* name (``airflow_export_requests_total``,
``airflow_export_duration_seconds_bucket``), whatever family the parser grouped them in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "ExpositionError",
    "Sample",
    "histogram_buckets",
    "parse_exposition",
    "sample_values",
    "samples_named",
    "sum_values",
]


class ExpositionError(ValueError):
    """The text is not a valid Prometheus text exposition (the message names the line)."""


@dataclass(frozen=True)
class Sample:
    """One sample of an exposition.

    :param name: the sample name, e.g. ``"airflow_export_duration_seconds_bucket"``.
    :param labels: label name -> value (``le`` included for buckets).
    :param value: the sample value (float; may be NaN or ``±inf``).
    """

    name: str
    labels: Mapping[str, str]
    value: float


def parse_exposition(text: str) -> list[Sample]:
    """Parse a text exposition into its samples, in the order they appear.

    :param text: the body of a ``/metrics`` response (text format 0.0.4).
    :returns: every sample; ``# HELP``/``# TYPE`` lines give none.
    :raises ExpositionError: a line does not parse; the message gives its 1-based number
        and content.
    """
    try:
        return _samples_of(text)
    except ValueError as exc:
        line_number, line = _first_bad_line(text)
        where = f"line {line_number}: {line!r}" if line_number else "the exposition"
        raise ExpositionError(f"cannot parse {where} as Prometheus text format: {exc}") from exc


def _samples_of(text: str) -> list[Sample]:
    return [
        Sample(sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _first_bad_line(text: str) -> tuple[int, str]:
    """Find the first line the parser rejects on its own (0 if each line parses alone)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            _samples_of(line + "\n")
        except ValueError:
            return number, line
    return 0, ""


def samples_named(samples: Iterable[Sample], name: str, labels: Mapping[str, str] | None = None) -> list[Sample]:
    """The samples called ``name`` whose labels include every pair of ``labels``.

    :param samples: samples from :func:`parse_exposition`.
    :param name: the exact sample name (``"airflow_export_requests_total"``).
    :param labels: label values the sample must have (other labels may be present); an
        empty or missing mapping matches every sample of that name.
    :returns: the matching samples, in exposition order.
    """
    wanted = dict(labels or {})
    return [
        sample
        for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in wanted.items())
    ]


def sample_values(samples: Iterable[Sample], name: str, labels: Mapping[str, str] | None = None) -> list[float]:
    """The values of :func:`samples_named`, in exposition order."""
    return [sample.value for sample in samples_named(samples, name, labels)]


def sum_values(samples: Iterable[Sample], name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """Sum of the matching samples, like PromQL ``sum(name{labels})``.

    :returns: the sum, or ``None`` when no sample matches (PromQL: an empty result).
    """
    values = sample_values(samples, name, labels)
    return math.fsum(values) if values else None


def histogram_buckets(
    samples: Iterable[Sample], histogram: str, labels: Mapping[str, str] | None = None
) -> list[tuple[float, float]]:
    """The buckets of a histogram summed over its series, like ``sum by (le) (<h>_bucket)``.

    :param samples: samples from :func:`parse_exposition`.
    :param histogram: the histogram's base name (``"airflow_export_duration_seconds"``); the
        ``<histogram>_bucket`` samples are read.
    :param labels: only series with these label values (e.g. ``{"format": "csv"}``).
    :returns: ``(upper_bound, cumulative_count)`` pairs sorted by upper bound, ``+inf``
        included if exposed; one pair per distinct ``le`` value (compared as floats, so
        ``"1"`` and ``"1.0"`` are the same bucket). Empty if the histogram has no bucket.
    :raises ExpositionError: a bucket sample has no ``le`` label or a non-numeric one.
    """
    totals: dict[float, float] = {}
    for sample in samples_named(samples, histogram + "_bucket", labels):
        le = sample.labels.get("le")
        try:
            upper_bound = float(le)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ExpositionError(
                f"{sample.name}{dict(sample.labels)} has no numeric 'le' label (got {le!r})"
            ) from None
        totals[upper_bound] = totals.get(upper_bound, 0.0) + sample.value
    return sorted(totals.items())
