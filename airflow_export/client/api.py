"""A client of the plugin's request API (``POST /export/requests``, status, downloads); stdlib only, no Airflow.

:meth:`ExportClient.submit` sends one request with an ``Idempotency-Key`` and, on 429 (or 503), waits the
answer's ``Retry-After`` plus up to 25 % jitter and sends the *same* request again, a bounded number of
times: the key makes the server return the run of an earlier try instead of starting a second export.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Answers that mean "not now": wait Retry-After and send the same request again.
RETRYABLE = (429, 503)
TERMINAL_STATES = ("success", "failed")


class RequestFailed(RuntimeError):
    """The server refused a request for good (4xx other than 429), or kept refusing it.

    :param status: the HTTP status of the last answer.
    :param body: its JSON body (or ``{"detail": text}``).
    """

    def __init__(self, status: int, body: dict[str, Any], what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {body.get('detail', body)}")
        self.status = status
        self.body = body


@dataclass
class Submitted:
    """A request the server accepted.

    :param answer: the JSON answer (dag_id, run_id, state, status_url).
    :param status: 202 (a new run), or 200 (the run of an earlier request with the same key).
    :param key: the Idempotency-Key sent.
    :param refusals: how many 429/503 answers came before it was accepted.
    :param waited_seconds: time spent waiting on Retry-After.
    :param retry_afters: the ``Retry-After`` header of each refusal, as sent (None: missing).
    """

    answer: dict[str, Any]
    status: int
    key: str
    refusals: int = 0
    waited_seconds: float = 0.0
    retry_afters: list[str | None] = field(default_factory=list)


class ExportClient:
    """Talks to one Airflow API server.

    :param url: e.g. ``http://127.0.0.1:8080``.
    :param user: a user of Airflow's auth manager.
    :param password: its password (a JWT is fetched from ``POST /auth/token`` once).
    :param timeout: seconds for one HTTP call.
    :param sleep: how to wait (tests pass a fake).
    """

    def __init__(self, url: str, user: str, password: str, timeout: float = 60,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.user = user
        self.password = password
        self.timeout = timeout
        self.sleep = sleep
        self._token: str | None = None

    def call(self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
             auth: bool = True) -> tuple[int, dict[str, str], bytes]:
        """One HTTP call; ``url`` absolute or relative to the server. Returns (status, headers, body) for
        every status (no exception for 4xx/5xx)."""
        full = url if "://" in url else self.url + url
        all_headers = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        if auth:
            all_headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(full, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()

    def token(self) -> str:
        """The JWT (``POST /auth/token``), fetched once."""
        if self._token is None:
            status, _, data = self.call("POST", "/auth/token", {"username": self.user, "password": self.password},
                                        auth=False)
            if status not in (200, 201):
                raise RequestFailed(status, _json(data), f"login as {self.user!r} at {self.url}")
            self._token = json.loads(data)["access_token"]
        return self._token

    def submit(self, conf: dict[str, Any], dag_id: str = "export_single", key: str | None = None,
               max_tries: int = 10, max_wait: float = 120.0, rng: random.Random | None = None) -> Submitted:
        """``POST /export/requests``; on 429/503 wait ``Retry-After`` (+ 0-25 % jitter, at most ``max_wait``)
        and try again with the same key, at most ``max_tries`` times in all.

        :raises RequestFailed: any other refusal (400, 401, 403, 404, 409), or still 429 after ``max_tries``.
        """
        key = key or uuid.uuid4().hex
        rng = rng or random.Random()
        done = Submitted({}, 0, key)
        for attempt in range(1, max_tries + 1):
            status, headers, data = self.call("POST", "/export/requests", {"dag_id": dag_id, "conf": conf},
                                              {"Idempotency-Key": key})
            if status in (200, 202):
                done.answer, done.status = json.loads(data), status
                return done
            if status not in RETRYABLE or attempt == max_tries:
                raise RequestFailed(status, _json(data), f"request {dag_id} {conf} (try {attempt})")
            retry_after = _retry_after(headers.get("retry-after"))
            done.refusals += 1
            done.retry_afters.append(headers.get("retry-after"))
            pause = min(max_wait, retry_after * (1 + 0.25 * rng.random()))
            done.waited_seconds += pause
            self.sleep(pause)
        raise AssertionError("unreachable")

    def status(self, status_url: str) -> dict[str, Any]:
        """``GET`` a status URL: the run's state and files."""
        status, _, data = self.call("GET", status_url)
        if status != 200:
            raise RequestFailed(status, _json(data), f"status {status_url}")
        return json.loads(data)

    def wait(self, status_url: str, timeout: float = 900, interval: float = 1.0) -> dict[str, Any]:
        """Poll a status URL until the run is ``success`` or ``failed``; return the last status.

        :raises TimeoutError: still running after ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while True:
            current = self.status(status_url)
            if current["state"] in TERMINAL_STATES:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"{status_url} still {current['state']} after {timeout:.0f} s")
            self.sleep(interval)

    def download(self, entry: dict[str, Any], folder: Path) -> Path:
        """Download one file of a status's ``files`` into ``folder`` (created); check its size and SHA-256
        against the entry; the file appears under its name only when complete and checked.

        :raises RequestFailed: not 200, or the bytes differ from what the export recorded.
        """
        folder.mkdir(parents=True, exist_ok=True)
        name = os.path.basename(entry["path"])
        target = folder / name
        partial = folder / f".{name}.part"
        req = urllib.request.Request(entry["download_url"], headers={"Authorization": f"Bearer {self.token()}"})
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp, open(partial, "wb") as out:
                while chunk := resp.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            raise RequestFailed(exc.code, _json(exc.read()), f"download {entry['download_url']}") from None
        size = partial.stat().st_size
        if (size, digest.hexdigest()) != (entry["bytes"], entry["sha256"]):
            partial.unlink()
            raise RequestFailed(200, {"detail": f"got {size} bytes sha256 {digest.hexdigest()}, the export "
                                                f"recorded {entry['bytes']} bytes sha256 {entry['sha256']}"},
                                f"download {name}")
        partial.replace(target)
        return target


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {"detail": data.decode(errors="replace")[:500]}
    return value if isinstance(value, dict) else {"detail": value}


def _retry_after(value: str | None) -> int:
    """``Retry-After`` in seconds (our server sends an integer; missing or a date: 1)."""
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1
