"""The client's retry loop and table, against a scripted server (no network)."""

from __future__ import annotations

import json
import random

import pytest

from airflow_export.client.api import ExportClient, RequestFailed
from airflow_export.client.cli import BATCH, main, table


class Scripted(ExportClient):
    """Answers POST /export/requests from a list of (status, headers, body); records what was sent."""

    def __init__(self, answers):
        self.slept: list[float] = []
        super().__init__("http://server", "u", "p", sleep=self.slept.append)
        self.answers = list(answers)
        self.sent: list[tuple[str, str, dict, dict]] = []
        self._token = "t"

    def call(self, method, url, body=None, headers=None, auth=True):
        self.sent.append((method, url, body, headers or {}))
        status, hdrs, answer = self.answers.pop(0)
        return status, hdrs, json.dumps(answer).encode()


ACCEPTED = (202, {}, {"dag_id": "export_single", "run_id": "request__1", "state": "queued", "status_url": "http://s/1"})
FULL = (429, {"retry-after": "4"}, {"detail": "full", "queue_depth": 20, "limit": 20})


def test_429_is_retried_after_retry_after_with_jitter_and_the_same_key():
    client = Scripted([FULL, FULL, (503, {"retry-after": "1"}, {"detail": "busy"}), ACCEPTED])
    done = client.submit({"records": 5, "format": "csv"}, rng=random.Random(7))
    assert (done.status, done.answer["run_id"], done.refusals, done.retry_afters) == (202, "request__1", 3,
                                                                                     ["4", "4", "1"])
    keys = {headers["Idempotency-Key"] for _, _, _, headers in client.sent}
    assert keys == {done.key} and len(done.key) == 32  # one key for every try
    assert all(body == {"dag_id": "export_single", "conf": {"records": 5, "format": "csv"}}
               for _, _, body, _ in client.sent)
    assert 4 <= client.slept[0] <= 5 and 4 <= client.slept[1] <= 5 and 1 <= client.slept[2] <= 1.25
    assert client.slept[0] != client.slept[1]  # jitter
    assert done.waited_seconds == pytest.approx(sum(client.slept))


def test_retries_are_bounded_and_other_refusals_are_final():
    client = Scripted([FULL] * 3)
    with pytest.raises(RequestFailed, match="HTTP 429: full") as err:
        client.submit({}, max_tries=3)
    assert err.value.status == 429 and len(client.sent) == 3 and len(client.slept) == 2
    for status in (400, 401, 403, 404, 409):
        client = Scripted([(status, {}, {"detail": "no"})])
        with pytest.raises(RequestFailed, match=f"HTTP {status}: no"):
            client.submit({})
        assert client.slept == []
    client = Scripted([(429, {"retry-after": "9999"}, {}), ACCEPTED])
    client.submit({}, max_wait=30)
    assert client.slept == [30]  # one wait is capped
    client = Scripted([(429, {}, {}), ACCEPTED])
    done = client.submit({}, key="mine")
    assert done.key == "mine" and done.retry_afters == [None] and 1 <= client.slept[0] <= 1.25


def test_table_and_arguments(capsys):
    results = [{"format": "csv", "records": 1000, "refusals": 2, "state": "success", "run_id": "r1", "seconds": 3.25,
                "files": [{"path": "/x/records.csv", "bytes": 135042, "downloaded": "out/r1/records.csv"}]},
               {"format": "pdf", "records": 5000, "refusals": 0, "state": "queued", "run_id": "r2", "files": []}]
    lines = table(results).splitlines()
    assert lines[0].split() == ["format", "records", "429s", "state", "run", "file", "bytes", "seconds"]
    assert lines[2].split() == ["csv", "1,000", "2", "success", "r1", "out/r1/records.csv", "135,042", "3.2"]
    assert lines[3].split() == ["pdf", "5,000", "0", "queued", "r2", "-", "-", "-"]
    assert BATCH == (("csv", 1000), ("csv", 5000), ("csv", 10_000), ("pdf", 1000), ("pdf", 5000))
    assert main(["request", "--url", "http://x", "--user", "", "--password", ""]) == 2
    assert "--user and --password" in capsys.readouterr().err
    assert main(["request", "--batch", "--idempotency-key", "k", "--user", "u", "--password", "p"]) == 2
