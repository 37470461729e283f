"""Topologies: which components a stack runs, and the executor and database settings they share.

Only the local topology exists today (LocalExecutor, SQLite metadata DB in the Airflow home). Another
one (e.g. CeleryExecutor with Redis, PostgreSQL and workers) is another :class:`Topology` value: more
components, other settings; the launcher and the :class:`~scripts.stack.Stack` stay as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class Topology:
    """What a stack runs.

    :param name: the launcher's ``--topology`` value.
    :param env: executor and metadata-database settings for every Airflow process.
    :param components: started in this order, stopped together.
    """

    name: str
    env: Mapping[str, str]
    components: tuple[Component, ...]


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

TOPOLOGIES: dict[str, Topology] = {LOCAL.name: LOCAL}
