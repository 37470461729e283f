"""``histogram_quantile`` over classic (bucketed) Prometheus histograms, in pure Python.

Source followed line by line: ``bucketQuantile`` and its helpers ``coalesceBuckets``,
``correctPrecisionErrors`` and ``ensureMonotonic`` in ``promql/quantile.go`` of
prometheus/prometheus (read at commit 01381a80115bde3f6dbb392123980d0bfadf49af).
Go's float division (``x/0`` is ``±Inf``, ``0/0`` is ``NaN``) and ``sort.Search`` (a binary
search) are reproduced so that even degenerate inputs give the answer PromQL gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

__all__ = ["histogram_quantile"]

# Tolerance of correctPrecisionErrors as called from bucketQuantile in quantile.go.
_PRECISION_TOLERANCE = 1e-12


def histogram_quantile(q: float, buckets: Iterable[tuple[float | str, float]]) -> float:
    """Estimate the ``q``-quantile from the buckets of a classic Prometheus histogram.

    Same result as PromQL ``histogram_quantile(q, <buckets>)`` for one series: the
    ``bucketQuantile`` function of ``promql/quantile.go`` (prometheus/prometheus), see
    https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile.

    The steps, in the order the Go code takes them:

    1. ``q`` is NaN -> NaN; ``q < 0`` -> ``-inf``; ``q > 1`` -> ``+inf``.
    2. Buckets are sorted by upper bound; if the highest bound is not ``+inf`` -> NaN
       (an empty list -> NaN as well).
    3. Buckets with the same upper bound are merged by adding their counts (so passing the
       buckets of several series at once equals ``sum by (le)``).
    4. Counts whose relative difference to the previous count is at most 1e-12 are set to
       the previous count (float noise), then the counts are made monotonic: each count is
       raised to the maximum of the counts below it.
    5. Fewer than 2 buckets -> NaN; total count (the ``+inf`` bucket) of 0 -> NaN.
    6. ``rank = q * total``; the quantile lies in the first bucket whose cumulative count is
       ``>= rank``. In the ``+inf`` bucket, the upper bound of the highest finite bucket is
       returned. In the lowest bucket, interpolation runs from 0 to its upper bound if that
       bound is > 0; a lowest bound ``<= 0`` is returned as is. Otherwise the value is
       interpolated linearly: ``start + (end - start) * (rank - count_below) / in_bucket``.

    Example: buckets ``[(1, 10), (2, 20), (inf, 20)]``, q=0.75: rank = 15, bucket ``le=2``,
    ``1 + (2 - 1) * (15 - 10) / (20 - 10) = 1.5``.

    :param q: the quantile, 0 <= q <= 1 (outside, see above).
    :param buckets: ``(upper_bound, cumulative_count)`` pairs in any order, one of them with
        upper bound ``+inf``. Upper bounds may be floats or the strings of the ``le`` label
        (``"0.5"``, ``"+Inf"``). Counts are cumulative (observations ``<= upper_bound``).
    :returns: the estimated quantile, in the unit of the bucket bounds (seconds for
        ``*_seconds`` histograms); NaN, ``-inf`` or ``+inf`` in the cases above.
    :raises ValueError: a pair is not of two numbers (the message names its position).
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf

    pairs = _as_pairs(buckets)
    # slices.SortFunc by upperBound ("We don't expect the bucket boundary to be a NaN").
    pairs.sort(key=lambda bucket: bucket[0])
    if not pairs or not (math.isinf(pairs[-1][0]) and pairs[-1][0] > 0):
        return math.nan

    pairs = _coalesce_buckets(pairs)
    _correct_precision_errors(pairs, _PRECISION_TOLERANCE)
    _ensure_monotonic(pairs)

    if len(pairs) < 2:
        return math.nan
    observations = pairs[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = _go_sort_search(len(pairs) - 1, lambda i: pairs[i][1] >= rank)

    if b == len(pairs) - 1:
        return pairs[-2][0]
    if b == 0 and pairs[0][0] <= 0:
        return pairs[0][0]
    bucket_start = 0.0
    bucket_end, count = pairs[b]
    if b > 0:
        bucket_start = pairs[b - 1][0]
        count -= pairs[b - 1][1]
        rank -= pairs[b - 1][1]
    return bucket_start + (bucket_end - bucket_start) * _go_div(rank, count)


def _as_pairs(buckets: Iterable[tuple[float | str, float]]) -> list[list[float]]:
    """Copy ``buckets`` to mutable ``[upper_bound, count]`` float pairs, naming a bad one."""
    pairs: list[list[float]] = []
    for index, bucket in enumerate(buckets):
        try:
            upper_bound, count = bucket
            pairs.append([float(upper_bound), float(count)])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"bucket #{index} must be (upper_bound, cumulative_count) numbers, got {bucket!r}"
            ) from exc
    return pairs


def _coalesce_buckets(pairs: list[list[float]]) -> list[list[float]]:
    """``coalesceBuckets``: merge sorted buckets of equal upper bound by adding counts."""
    merged = [list(pairs[0])]
    for upper_bound, count in pairs[1:]:
        if upper_bound == merged[-1][0]:
            merged[-1][1] += count
        else:
            merged.append([upper_bound, count])
    return merged


def _correct_precision_errors(pairs: list[list[float]], tolerance: float) -> bool:
    """``correctPrecisionErrors``: flatten counts differing by a relative ``<= tolerance``."""
    fixed = False
    prev = pairs[0][1]
    for i in range(1, len(pairs)):
        curr = pairs[i][1]
        delta = abs(curr - prev)
        if delta == 0:
            continue
        eps = _go_div(delta, curr)
        if eps <= tolerance:
            pairs[i][1] = prev
            fixed = True
        else:
            prev = curr
    return fixed


def _ensure_monotonic(pairs: list[list[float]]) -> bool:
    """``ensureMonotonic``: raise each count to the running maximum (the "envelope")."""
    forced = False
    running_max = pairs[0][1]
    for i in range(1, len(pairs)):
        count = pairs[i][1]
        if count > running_max:
            running_max = count
        elif count < running_max:
            pairs[i][1] = running_max
            forced = True
    return forced


def _go_sort_search(n: int, predicate: Callable[[int], bool]) -> int:
    """Go's ``sort.Search``: smallest ``i`` in ``[0, n)`` with ``predicate(i)``, else ``n``."""
    low, high = 0, n
    while low < high:
        middle = (low + high) >> 1
        if not predicate(middle):
            low = middle + 1
        else:
            high = middle
    return low


def _go_div(numerator: float, denominator: float) -> float:
    """IEEE 754 division as in Go: ``x/0`` is ``±inf`` (sign of both operands), ``0/0`` NaN."""
    if denominator != 0:
        return numerator / denominator
    if numerator == 0 or math.isnan(numerator):
        return math.nan
    negative = (numerator < 0) != (math.copysign(1.0, denominator) < 0)
    return -math.inf if negative else math.inf
