"""The rate-limited warning log."""

from __future__ import annotations

import logging

import pytest

from airflow_export.bridge.log_limiter import RateLimitedLog


def test_bad_line_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limiter = RateLimitedLog(logging.getLogger("test.ratelimit"), burst=3, window=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.ratelimit"):
        for i in range(8):
            limiter.warning("bad line %d", i)
        now[0] = 10.0
        limiter.warning("bad line %d", 8)
    assert [record.getMessage() for record in caplog.records] == [
        "bad line 0",
        "bad line 1",
        "bad line 2",
        "5 similar messages suppressed in the last 10 s",
        "bad line 8",
    ]
