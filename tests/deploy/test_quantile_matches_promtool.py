"""Our ``histogram_quantile`` gives, bit for bit, what Prometheus's PromQL engine gives.

Each case of ``tests/validation/test_quantile.py`` is loaded into ``promtool test rules`` as
instant bucket series and evaluated with PromQL ``histogram_quantile``; the expected value
written into the promtool test is the one our Python function computes. promtool compares
floats exactly; NaN (never equal to itself) is checked as "one sample, not equal to itself".

Cases left out, on purpose:
- ``no_buckets``, ``q_below_zero_no_buckets``: no series, PromQL returns no sample at all;
- ``coalesce_equal_float_bounds``: two buckets with the same ``le`` text would be one series
  (``coalesce_equal_bounds`` checks the merge with ``le="1"`` and ``le="1.0"``);
- ``precision_correction``: ``correctPrecisionErrors`` came to Prometheus after 2.42 (Debian
  12's promtool), which still returns 2 there; we follow the newer source (1).
"""

from __future__ import annotations

import math

import pytest
import yaml

from airflow_export.validation import histogram_quantile
from tests.deploy.conftest import require_promtool, run_promtool
from tests.validation.test_quantile import CASES

LEFT_OUT = {"no_buckets", "q_below_zero_no_buckets", "coalesce_equal_float_bounds",
            "precision_correction"}
PROMTOOL_CASES = [case for case in CASES if case[0] not in LEFT_OUT]


def le_text(bound: float | str) -> str:
    if isinstance(bound, str):
        return bound
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    return repr(bound)


def promql_number(q: float) -> str:
    return "NaN" if math.isnan(q) else repr(q)


def promtool_case(case_id: str, q: float, buckets: list[tuple[float | str, float]]) -> dict:
    series = [
        {"series": f'h_bucket{{case="{case_id}",le="{le_text(bound)}"}}', "values": repr(float(count))}
        for bound, count in buckets
    ]
    expr = f'histogram_quantile({promql_number(q)}, h_bucket{{case="{case_id}"}})'
    labels = f'{{case="{case_id}"}}'
    value = histogram_quantile(q, buckets)
    if math.isnan(value):
        checks = [
            {"expr": f"count({expr})", "eval_time": "0m", "exp_samples": [{"labels": "{}", "value": 1}]},
            {"expr": f"{expr} == {expr}", "eval_time": "0m", "exp_samples": []},
        ]
    else:
        checks = [{"expr": expr, "eval_time": "0m", "exp_samples": [{"labels": labels, "value": value}]}]
    return {"name": case_id, "interval": "1m", "input_series": series, "promql_expr_test": checks}


def test_every_case_but_the_documented_ones_is_checked():
    assert len(PROMTOOL_CASES) == len(CASES) - len(LEFT_OUT)
    assert {case[0] for case in CASES} >= LEFT_OUT


@pytest.mark.parametrize(("case_id", "q", "buckets", "expected"), PROMTOOL_CASES,
                         ids=[case[0] for case in PROMTOOL_CASES])
def test_histogram_quantile_matches_promql(case_id, q, buckets, expected, tmp_path):
    promtool = require_promtool()
    (tmp_path / "rules.yml").write_text("groups: []\n")
    test_file = tmp_path / "quantile.test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [promtool_case(case_id, q, buckets)],
    }))
    done = run_promtool(promtool, "test", "rules", test_file.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
