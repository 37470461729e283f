"""Build Prometheus text expositions in the exact style of prometheus-client, for tests.

``exposition()`` with no argument is a healthy scrape of the bridge after a batch of 20
exports (19 CSV succeeded, 1 PDF failed); each keyword replaces one family, ``None`` drops it.
Values are written with ``prometheus_client.utils.floatToGoString`` like ``generate_latest``
does (``12.0``, ``+Inf``, ``1.5e+06``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from prometheus_client.utils import floatToGoString

#: Contract buckets of airflow_export_duration_seconds, seconds.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, math.inf)

Labels = Mapping[str, str]


def labels_text(labels: Labels) -> str:
    """``{a="1",b="2"}`` in the given order, or ``""`` without labels."""
    if not labels:
        return ""
    return "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def family(name: str, kind: str, series: Sequence[tuple[Labels, float]], help_: str = "") -> str:
    """``# HELP``, ``# TYPE`` and one sample line per ``(labels, value)``."""
    lines = [f"# HELP {name} {help_ or name.replace('_', ' ')}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels_text(labels)} {floatToGoString(value)}" for labels, value in series]
    return "\n".join(lines) + "\n"


def histogram(
    name: str,
    observations: Mapping[tuple[tuple[str, str], ...], Sequence[float]],
    bounds: Sequence[float] = DURATION_BUCKETS,
) -> str:
    """A histogram family from raw observations per label set, cumulative as exposed.

    :param observations: ``{(("format", "csv"),): [0.3, 1.2, ...]}``.
    """
    lines = [f"# HELP {name} {name.replace('_', ' ')}", f"# TYPE {name} histogram"]
    for label_items, values in observations.items():
        labels = dict(label_items)
        for bound in bounds:
            cumulative = sum(1 for value in values if value <= bound)
            le = {**labels, "le": floatToGoString(bound)}
            lines.append(f"{name}_bucket{labels_text(le)} {floatToGoString(cumulative)}")
        lines.append(f"{name}_count{labels_text(labels)} {floatToGoString(len(values))}")
        lines.append(f"{name}_sum{labels_text(labels)} {floatToGoString(math.fsum(values))}")
    return "\n".join(lines) + "\n"


def buckets_family(name: str, cumulative: Mapping[str, float], labels: Labels | None = None) -> str:
    """A histogram family from cumulative counts given per ``le`` string, for exact cases."""
    labels = dict(labels or {})
    lines = [f"# HELP {name} {name.replace('_', ' ')}", f"# TYPE {name} histogram"]
    for le, count in cumulative.items():
        lines.append(f"{name}_bucket{labels_text({**labels, 'le': le})} {floatToGoString(count)}")
    total = cumulative.get("+Inf", 0.0)
    lines.append(f"{name}_count{labels_text(labels)} {floatToGoString(total)}")
    lines.append(f"{name}_sum{labels_text(labels)} 0.0")
    return "\n".join(lines) + "\n"


# A healthy batch: 19 CSV exports of 0.3 s to 4 s, one PDF failing after 1.5 s.
HEALTHY_DURATIONS = {
    (("format", "csv"),): [0.3] * 6 + [0.8] * 6 + [2.0] * 5 + [4.0] * 2,
    (("format", "pdf"),): [1.5],
}

_UNSET = object()


def exposition(
    *,
    requests: object = _UNSET,
    durations: object = _UNSET,
    records: object = _UNSET,
    bytes_: object = _UNSET,
    failures: object = _UNSET,
    running: object = _UNSET,
    running_high_water: object = _UNSET,
    scheduled: object = _UNSET,
    scheduled_high_water: object = _UNSET,
    memory: object = _UNSET,
    throughput: object = _UNSET,
    extra: str = "",
) -> str:
    """A full scrape of the bridge; each keyword replaces a family's samples, ``None`` omits it.

    Counter/gauge keywords take ``[(labels, value), ...]``; a bare number is shorthand for a
    single series (with the family's usual labels). ``durations`` takes the observations
    mapping of :func:`histogram`, or a ready text (from :func:`buckets_family`).
    """

    def pick(value: object, default: object) -> object:
        return default if value is _UNSET else value

    def one(value: object, labels: Labels) -> object:
        return [(labels, value)] if isinstance(value, (int, float)) else value

    csv, pdf = {"format": "csv"}, {"format": "pdf"}
    pool = {"pool": "export_pool"}
    parts: list[str] = []

    def add(name: str, kind: str, series: object) -> None:
        if series is not None:
            parts.append(family(name, kind, series))  # type: ignore[arg-type]

    add(
        "airflow_export_requests_total",
        "counter",
        pick(
            requests,
            [
                ({"format": "csv", "status": "success"}, 19.0),
                ({"format": "pdf", "status": "failed"}, 1.0),
            ],
        ),
    )
    chosen = pick(durations, HEALTHY_DURATIONS)
    if isinstance(chosen, str):
        parts.append(chosen)
    elif chosen is not None:
        parts.append(histogram("airflow_export_duration_seconds", chosen))  # type: ignore[arg-type]
    add("airflow_export_records_total", "counter", one(pick(records, [(csv, 380000.0)]), csv))
    add("airflow_export_bytes_total", "counter", one(pick(bytes_, [(csv, 41234567.0)]), csv))
    add(
        "airflow_export_failures_total",
        "counter",
        one(pick(failures, [({"reason": "write_error"}, 1.0)]), {"reason": "write_error"}),
    )
    add("airflow_export_running", "gauge", one(pick(running, 0.0), {}))
    add("airflow_export_running_high_water", "gauge", one(pick(running_high_water, 4.0), {}))
    add("airflow_pool_scheduled_slots", "gauge", one(pick(scheduled, 0.0), pool))
    add("airflow_pool_scheduled_slots_high_water", "gauge", one(pick(scheduled_high_water, 15.0), pool))
    add("airflow_export_memory_peak_bytes", "gauge", one(pick(memory, [(csv, 52428800.0), (pdf, 1.34217728e08)]), csv))
    add(
        "airflow_export_throughput_records_per_second",
        "gauge",
        one(pick(throughput, [(csv, 182000.0), (pdf, 2250.0)]), csv),
    )
    return "".join(parts) + extra
