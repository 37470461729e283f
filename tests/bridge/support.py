"""Helpers for the bridge tests: real UDP sends, HTTP scrapes, parsed expositions, the CLI process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

from airflow_export.bridge.mapping import MappingConfig

if TYPE_CHECKING:
    from airflow_export.bridge import Bridge

REPO = Path(__file__).resolve().parents[2]
MAPPING_FILE = REPO / "deploy" / "statsd" / "mapping.yml"
#: the console script installed by ``pip install -e .`` (pyproject ``[project.scripts]``)
BRIDGE_COMMAND = Path(sys.executable).parent / "airflow-export-bridge"
LISTENING_RE = re.compile(
    r"^bridge listening statsd=udp://(?P<shost>[^ ]+):(?P<sport>\d+) metrics=(?P<url>http://\S+/metrics)$"
)


def load_mapping(text: str) -> MappingConfig:
    """A mapping configuration from indented YAML text (dedented; messages name ``test.yml``)."""
    return MappingConfig.from_yaml(textwrap.dedent(text), source="test.yml")


class Scrape:
    """A parsed ``/metrics`` text: ``value(name, **labels)`` and the families by name."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples: dict[tuple[str, frozenset], float] = {}
        for family in self.families.values():
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                assert key not in self.samples, f"duplicate series {key}"
                self.samples[key] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The value of the series ``name{labels}``; KeyError if absent."""
        return self.samples[(name, frozenset(labels.items()))]

    def get(self, name: str, default: float | None = None, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())), default)

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


def scrape(url: str) -> Scrape:
    """GET ``url`` and parse it (fails on anything but 200 and text format 0.0.4)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return Scrape(response.read().decode("utf-8"))


def apply(bridge: Bridge, *packets: bytes) -> Scrape:
    """Hand datagrams to the bridge without a socket and parse its exposition."""
    for packet in packets:
        bridge.handle_packet(packet)
    return Scrape(bridge.exposition())


def send_udp(port: int, *packets: bytes, host: str = "127.0.0.1") -> None:
    """Send each payload as one UDP datagram."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for packet in packets:
            sock.sendto(packet, (host, port))


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll ``predicate`` until true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_for_packets(url: str, packets: int, timeout: float = 10.0) -> Scrape:
    """Scrape until ``statsd_bridge_udp_packets_total`` reaches ``packets``; return that scrape."""
    result: list[Scrape] = []

    def done() -> bool:
        current = scrape(url)
        result[:] = [current]
        return current.value("statsd_bridge_udp_packets_total") >= packets

    wait_for(done, timeout=timeout, interval=0.05)
    return result[0]


class BridgeProcess:
    """The real ``airflow-export-bridge`` command in a subprocess, on free ports."""

    def __init__(self, *args: str) -> None:
        command = [str(BRIDGE_COMMAND), "--statsd-port", "0", "--metrics-port", "0", *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
        )
        assert self.process.stdout is not None
        self.first_line = self.process.stdout.readline().rstrip("\n")
        match = LISTENING_RE.match(self.first_line)
        if match is None:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"unexpected first line {self.first_line!r}; stderr:\n{err}")
        self.statsd_port = int(match.group("sport"))
        self.url = match.group("url")

    def kill(self) -> None:
        """SIGKILL the bridge if it still runs (for ``finally:`` after a failed test)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> tuple[int, str]:
        """SIGTERM, wait, and return ``(exit status, stderr)``."""
        if self.process.poll() is None:
            self.process.terminate()
        _, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, err
