"""Fixtures for the bridge tests (helpers live in :mod:`tests.bridge.support`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_export.bridge import Bridge
from tests.bridge.support import MAPPING_FILE


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    """An in-process bridge on free loopback ports with the project's mapping file."""
    with Bridge(statsd_port=0, metrics_port=0, mapping=MAPPING_FILE) as running:
        yield running


@pytest.fixture
def plain() -> Bridge:
    """A bridge that is never started (no sockets), without mappings."""
    return Bridge(statsd_port=0, metrics_port=0)
