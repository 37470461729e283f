"""Admission control's arithmetic: Retry-After from the backlog, the pool's slots and recent durations."""

from __future__ import annotations

import pytest

from airflow_export.plugin.admission import MAX_RETRY_AFTER, Refusal, max_queue_depth, retry_after_seconds


def test_retry_after_grows_with_the_excess_and_shrinks_with_slots():
    # at the limit: one export must start to make room; 5 slots, 4 s each -> one round of 4 s
    assert retry_after_seconds(100, 100, 5, 4.0) == 4
    # 12 above the limit (13 to drain), 5 at a time -> 3 rounds of 4 s
    assert retry_after_seconds(112, 100, 5, 4.0) == 12
    assert retry_after_seconds(112, 100, 1, 4.0) == 52
    assert retry_after_seconds(100, 100, 5, 0.3) == 1  # rounded up, at least 1
    assert retry_after_seconds(100, 100, 5, 0.0) == 1
    assert retry_after_seconds(10_000, 100, 1, 60.0) == MAX_RETRY_AFTER
    assert retry_after_seconds(100, 100, 0, 2.0) == 2  # a pool without slots counts as one


def test_refusal_body_names_depth_and_limit():
    body = Refusal(queue_depth=20, limit=20, retry_after=7).body()
    assert (body["queue_depth"], body["limit"], body["retry_after"]) == (20, 20, 7)
    assert "max_queue_depth" in body["detail"] and "retry after 7 s" in body["detail"]


def test_limit_from_airflow_config(monkeypatch):
    monkeypatch.delenv("AIRFLOW__EXPORT__MAX_QUEUE_DEPTH", raising=False)
    assert max_queue_depth() == 100
    monkeypatch.setenv("AIRFLOW__EXPORT__MAX_QUEUE_DEPTH", "20")
    assert max_queue_depth() == 20
    monkeypatch.setenv("AIRFLOW__EXPORT__MAX_QUEUE_DEPTH", "0")
    with pytest.raises(ValueError, match="at least 1"):
        max_queue_depth()
