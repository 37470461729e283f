"""Topologies: which components a stack runs, and the executor and database settings they share.

``local``: LocalExecutor, SQLite metadata DB in the Airflow home (the default). ``celery``
(:mod:`scripts.stack.celery`): CeleryExecutor with PostgreSQL, Redis, an S3 server and two workers; its
services start before the metadata DB is migrated, and its :class:`Lifecycle` prepares and removes
their files. The launcher and the :class:`~scripts.stack.Stack` are the same for both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Component:
    """One long-running process of a stack.

    :param name: names its log file (``logs/<name>.out``) and it in every message.
    :param argv: the command line.
    :param health: the key of ``/api/v2/monitor/health`` that reports this component, if any.
    :param ready_url: an URL that answers once the component serves; the next component starts after that.
    :param env: settings for this component only (on top of the stack's environment).
    """

    name: str
    argv: tuple[str, ...]
    health: str | None = None
    ready_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)


def airflow_component(command: str, health: str | None) -> Component:
    """``airflow <command>`` from this virtualenv."""
    return Component(command, (str(VENV_BIN / "airflow"), command), health=health)


class Lifecycle(Protocol):
    """What a topology with services does around them."""

    def prepare(self) -> None:
        """Before the services start (e.g. ``initdb``)."""

    def services_ready(self) -> None:
        """After the services started: wait for them, create what the stack needs in them (a bucket)."""

    def cleanup(self) -> None:
        """After everything stopped: remove the services' files."""

    def ports(self) -> dict[str, int]:
        """The TCP ports the services listen on, by what listens."""


@dataclass(frozen=True)
class Topology:
    """What a stack runs.

    :param name: the launcher's ``--topology`` value.
    :param env: executor and metadata-database settings for every Airflow process.
    :param components: started in this order, stopped together.
    :param services: started before the metadata DB is migrated (databases, broker, storage).
    :param export_root: the export root every task uses (a URI such as ``s3://bucket/prefix``); None: the
        stack's local ``<home>/exports``.
    :param lifecycle: prepares, readies and removes the services' files.
    """

    name: str
    env: Mapping[str, str]
    components: tuple[Component, ...]
    services: tuple[Component, ...] = ()
    export_root: str | None = None
    lifecycle: Lifecycle | None = None


#: LocalExecutor, SQLite metadata DB (Airflow's default: ``airflow.db`` in the Airflow home).
LOCAL = Topology(
    name="local",
    env={"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"},
    components=(
        airflow_component("api-server", health="metadatabase"),
        airflow_component("scheduler", health="scheduler"),
        airflow_component("dag-processor", health="dag_processor"),
    ),
)

def _celery() -> Topology:
    from scripts.stack.celery import celery_topology

    return celery_topology()


#: The launcher's ``--topology`` choices: each makes its topology (the Celery one picks its ports then).
TOPOLOGIES: dict[str, Callable[[], Topology]] = {LOCAL.name: lambda: LOCAL, "celery": _celery}
