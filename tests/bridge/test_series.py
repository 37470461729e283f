"""The series types: summaries keep a bounded, time-limited window."""

from __future__ import annotations

import math

from airflow_export.bridge.series import SummarySeries


def test_summary_forgets_observations_older_than_max_age() -> None:
    series = SummarySeries(capacity=10)
    series.observe(5.0, 1, now=0.0)
    series.observe(7.0, 2, now=100.0)
    assert series.quantile_values([0.5, 0.9], now=650.0, max_age=600.0) == [7.0, 7.0]
    assert all(math.isnan(v) for v in series.quantile_values([0.5], now=701.0, max_age=600.0))
    assert (series.sum, series.count) == (19.0, 3)
