"""``histogram_quantile`` against hand-computed values (PromQL ``bucketQuantile`` semantics).

Notation in the comments: rank = q * total; b = first bucket with cumulative count >= rank;
result = start + (end - start) * (rank - below) / (count_b - below), where start/below are the
bound/count of the bucket before b (0 and 0 for the lowest bucket if its bound is > 0).
"""

from __future__ import annotations

import math

import pytest

from airflow_export.validation import histogram_quantile

INF = math.inf
NAN = math.nan

# 20 exports over the contract buckets (cumulative): 0 <= 0.25 s, 8 <= 0.5, 14 <= 1,
# 18 <= 2.5, 19 <= 5, 20 <= 10.
CONTRACT = [(0.1, 0), (0.25, 2), (0.5, 8), (1, 14), (2.5, 18), (5, 19), (10, 20), (30, 20), (60, 20), (INF, 20)]

CASES = [
    # id, q, buckets, expected
    # rank 10 -> b=le1 (10>=10), lowest bucket from 0: 0 + 1*(10/10)
    ("median_lowest_bucket", 0.5, [(1, 10), (2, 20), (INF, 20)], 1.0),
    # rank 15 -> b=le2: 1 + (2-1)*(15-10)/(20-10) = 1.5
    ("interpolate_second_bucket", 0.75, [(1, 10), (2, 20), (INF, 20)], 1.5),
    # rank 5 -> b=le1: 0 + 1*(5/10) = 0.5 (natural lower bound 0)
    ("lower_bound_zero", 0.25, [(1, 10), (2, 20), (INF, 20)], 0.5),
    # rank 20 -> b=le2 (not +Inf: search runs over all but the last): 1 + 1*(10/10) = 2
    ("q_one", 1.0, [(1, 10), (2, 20), (INF, 20)], 2.0),
    # rank 0 -> b=le1: 0 + 1*(0/10) = 0
    ("q_zero", 0.0, [(1, 10), (2, 20), (INF, 20)], 0.0),
    # rank 0 -> b=le1 with count 0: 0 + 1*(0/0) = NaN (Go float division)
    ("q_zero_empty_first_bucket", 0.0, [(1, 0), (2, 5), (INF, 5)], NAN),
    # rank 5, no finite bucket has >= 5 -> +Inf bucket -> highest finite bound 2
    ("in_inf_bucket", 0.5, [(1, 1), (2, 2), (INF, 10)], 2.0),
    # same as interpolate_second_bucket, given in reverse order: sorted first
    ("unsorted_input", 0.75, [(INF, 20), (2, 20), (1, 10)], 1.5),
    # le label strings are accepted: same as interpolate_second_bucket
    ("le_strings", 0.75, [("1", 10), ("2.0", 20), ("+Inf", 20)], 1.5),
    ("no_inf_bucket", 0.5, [(1, 10), (2, 20)], NAN),
    ("single_inf_bucket", 0.5, [(INF, 5)], NAN),
    ("no_buckets", 0.5, [], NAN),
    ("zero_observations", 0.5, [(1, 0), (2, 0), (INF, 0)], NAN),
    ("q_below_zero", -0.1, [(1, 10), (2, 20), (INF, 20)], -INF),
    ("q_above_one", 1.1, [(1, 10), (2, 20), (INF, 20)], INF),
    ("q_nan", NAN, [(1, 10), (2, 20), (INF, 20)], NAN),
    # q is checked before the buckets: -Inf even with no bucket at all
    ("q_below_zero_no_buckets", -1.0, [], -INF),
    # lowest bound <= 0 is returned as is when the quantile falls in it (rank 3 -> b=le-1)
    ("negative_lowest_bound", 0.3, [(-1, 5), (0, 10), (INF, 10)], -1.0),
    ("zero_lowest_bound", 0.3, [(0, 5), (1, 10), (INF, 10)], 0.0),
    # rank 5 -> b=le1: -1 + (1-(-1))*(5-2)/(6-2) = -1 + 2*0.75 = 0.5
    ("negative_then_positive", 0.5, [(-1, 2), (1, 6), (INF, 10)], 0.5),
    # counts 10, 8, 20 -> envelope 10, 10, 20; rank 12 -> b=le3: 2 + 1*(12-10)/(20-10) = 2.2
    # (without the fix-up: 2 + 1*(12-8)/(20-8) = 2.333...)
    ("monotonic_fixup", 0.6, [(1, 10), (2, 8), (3, 20), (INF, 20)], 2.2),
    # envelope 10, 10, 20; rank 10 -> b=le1: 1*(10/10) = 1 (binary search without fix: 2.1667)
    ("monotonic_fixup_search", 0.5, [(1, 10), (2, 8), (3, 20), (INF, 20)], 1.0),
    # equal bounds are merged: le="1" and le="1.0" (two series in PromQL) give le1 = 4 + 6 =
    # 10 -> as interpolate_second_bucket
    ("coalesce_equal_bounds", 0.75, [(1, 4), ("1.0", 6), (2, 20), (INF, 20)], 1.5),
    # the same as plain floats (what summing the buckets of several series produces)
    ("coalesce_equal_float_bounds", 0.75, [(1.0, 4), (1.0, 6), (2, 20), (INF, 20)], 1.5),
    # 10 and 10.000000000001 differ by 1e-13 relative <= 1e-12: flattened to 10, so
    # rank 10 -> b=le1: 1*(10/10) = 1; unflattened it would be 1 + 1*(1e-12/1e-12) = 2
    ("precision_correction", 1.0, [(1, 10.0), (2, 10.000000000001), (INF, 10.000000000001)], 1.0),
    # contract buckets, rank 19 -> b=le5: 2.5 + 2.5*(19-18)/(19-18) = 5
    ("contract_p95", 0.95, CONTRACT, 5.0),
    # rank 10 -> b=le1: 0.5 + 0.5*(10-8)/(14-8) = 0.6666...
    ("contract_p50", 0.5, CONTRACT, 0.5 + 0.5 * 2 / 6),
    # rank 18 -> b=le2.5: 1 + 1.5*(18-14)/(18-14) = 2.5
    ("contract_p90", 0.9, CONTRACT, 2.5),
    # rank 19.8 -> b=le10: 5 + 5*(19.8-19)/(20-19) = 9
    ("contract_p99", 0.99, CONTRACT, 9.0),
    # rank 0.5 -> b=le0.25 (first >= 0.5): 0.1 + 0.15*(0.5-0)/(2-0) = 0.1375
    ("contract_p2_5", 0.025, CONTRACT, 0.1375),
    # everything slower than 60 s: the +Inf bucket -> 60
    ("contract_all_in_inf", 0.95, [(b, 0) for b, _ in CONTRACT[:-1]] + [(INF, 7)], 60.0),
]


@pytest.mark.parametrize(("q", "buckets", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_histogram_quantile(q, buckets, expected):
    assert histogram_quantile(q, buckets) == pytest.approx(expected, rel=1e-12, nan_ok=True)


def test_nan_is_nan_not_a_number_that_compares():
    # pytest.approx(nan, nan_ok=True) accepts only NaN; make the NaN cases explicit too.
    assert math.isnan(histogram_quantile(0.5, [(1, 10), (2, 20)]))


def test_input_is_not_modified():
    buckets = [(INF, 20), (2, 8), (1, 10)]
    histogram_quantile(0.5, buckets)
    assert buckets == [(INF, 20), (2, 8), (1, 10)]


@pytest.mark.parametrize("bad", [[(1, 10, 3), (INF, 20)], [("one", 10), (INF, 20)], [(1,), (INF, 2)]])
def test_bad_bucket_names_its_position(bad):
    with pytest.raises(ValueError, match=r"bucket #0 must be \(upper_bound, cumulative_count\)"):
        histogram_quantile(0.5, bad)


def test_cross_check_formula_written_out():
    # 100 observations: le0.5: 30, le1: 80, +Inf: 100. P90: rank 90 > 80 -> +Inf -> 1.
    # P70: rank 70 -> b=le1: 0.5 + (1 - 0.5) * (70 - 30) / (80 - 30) = 0.5 + 0.5 * 0.8 = 0.9
    buckets = [(0.5, 30), (1, 80), (INF, 100)]
    assert histogram_quantile(0.9, buckets) == 1.0
    assert histogram_quantile(0.7, buckets) == pytest.approx(0.9, rel=1e-12)
    # P15: rank 15 -> b=le0.5, lowest, start 0: 0.5 * 15 / 30 = 0.25
    assert histogram_quantile(0.15, buckets) == 0.25
