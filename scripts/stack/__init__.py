"""A local Airflow 3 for airflow-export: configure, start, drive and stop it (the demo and the end-to-end tests).

* an Airflow home with the pool ``export_pool``, the ``export_demo_db`` connection and the export root;
* the components of a :class:`~scripts.stack.topology.Topology` (``local``: api-server, scheduler and
  dag-processor with LocalExecutor; ``celery``: PostgreSQL, Redis, an S3 server, then those, a triggerer and
  two Celery workers), plus ``airflow-export-bridge`` when metrics are on, each in its own
  process group (:mod:`scripts.stack.processes`);
* the REST API through :class:`~scripts.stack.rest.AirflowApi` (``Stack.api``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from airflow_export.names import EXPORT_POOL, EXPORT_POOL_SLOTS, EXPORT_ROOT_ENV, METRICS_URL_ENV
from scripts.stack.ports import HOST, PortTakenError, free_port, free_udp_port, refuse_taken_ports
from scripts.stack.processes import ComponentExited, Processes
from scripts.stack.rest import AirflowApi
from scripts.stack.topology import LOCAL, TOPOLOGIES, VENV_BIN, Component, Topology

__all__ = [
    "ADMIN_PASSWORD", "ADMIN_USER", "DEMO_CONN", "LOCAL", "REPO", "TOPOLOGIES", "AirflowApi", "Component",
    "ComponentExited", "PortTakenError", "Stack", "Topology", "free_port", "free_udp_port", "running_stack",
]

REPO = Path(__file__).resolve().parents[2]
DEMO_CONN = "export_demo_db"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


@dataclass
class Stack:
    """A local Airflow stack rooted at ``home``.

    :param home: the Airflow home (created if missing).
    :param api_port: port of the API server / UI on 127.0.0.1.
    :param topology: the components and their executor/database settings.
    :param pool_slots: slots of ``export_pool``.
    :param statsd_port: when set, Airflow sends StatsD metrics to 127.0.0.1:statsd_port.
    :param metrics_port: HTTP port of the bridge's ``/metrics`` (with ``bridge=True``; a free one if None).
    :param bridge: start ``airflow-export-bridge`` with ``deploy/statsd/mapping.yml`` first and point
        Airflow's ``[metrics]`` at it.
    :param extra_dag_bundles: more DAG folders (bundle name -> folder), each a ``LocalDagBundle`` beside
        the default ``dags-folder`` bundle (the repository's ``dags/``).
    :param extra_env: more environment for every process (e.g. ``AIRFLOW_CONN_...``).
    """

    home: Path
    api_port: int = 8080
    topology: Topology = LOCAL
    pool_slots: int = EXPORT_POOL_SLOTS
    statsd_port: int | None = None
    metrics_port: int | None = None
    bridge: bool = False
    extra_dag_bundles: dict[str, Path] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.processes = Processes(self.home / "logs")
        self.api = AirflowApi(self.base_url, ADMIN_USER, ADMIN_PASSWORD, alive=self.processes.check_alive)

    # -- configuration --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.metrics_port}/metrics"

    @property
    def export_root(self) -> Path:
        return self.home / "exports"

    @property
    def export_uri(self) -> str:
        """Where exports go: the topology's export root (``s3://...``), else :attr:`export_root`."""
        return self.topology.export_root or str(self.export_root)

    @property
    def demo_db(self) -> Path:
        return self.home / "data" / "demo.db"

    def env(self) -> dict[str, str]:
        """Environment for every Airflow command of this stack."""
        env = dict(os.environ)
        self.home.mkdir(parents=True, exist_ok=True)
        secret_file = self.home / ".jwt_secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(32))
        passwords = self.home / "passwords.json"
        if not passwords.exists():
            passwords.write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secret_file.read_text().strip(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__POOL_METRICS_INTERVAL": "1",
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            f"AIRFLOW_CONN_{DEMO_CONN.upper()}": json.dumps({"conn_type": "sqlite", "host": str(self.demo_db)}),
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            **self.topology.env,
        })
        env.pop(EXPORT_ROOT_ENV, None)
        if self.topology.export_root is None:  # else the topology configures [export] root
            env[EXPORT_ROOT_ENV] = str(self.export_root)
        if self.extra_dag_bundles:
            bundles = [{"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}}]
            bundles += [{"name": name, "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(path)}}
                        for name, path in self.extra_dag_bundles.items()]
            env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(bundles)
        if self.metrics_port:
            env[METRICS_URL_ENV] = self.metrics_url
        if self.statsd_port:
            env.update({
                "AIRFLOW__METRICS__STATSD_ON": "True",
                "AIRFLOW__METRICS__STATSD_HOST": HOST,
                "AIRFLOW__METRICS__STATSD_PORT": str(self.statsd_port),
                "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
            })
        env.update(self.extra_env)
        return env

    def airflow(self, *args: str, timeout: float = 300) -> str:
        """Run an ``airflow`` CLI command; return its stdout.

        :raises RuntimeError: non-zero exit (stderr is in the message).
        """
        proc = subprocess.run([str(VENV_BIN / "airflow"), *args], env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc.stdout

    def init(self) -> None:
        """Migrate the metadata DB, create the pool, prepare the (local) export root and the demo data."""
        self.export_root.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")
        self.airflow("pools", "set", EXPORT_POOL, str(self.pool_slots),
                     "Exports: the pool, not the code, bounds concurrency")
        from dags.demo_data import ensure_demo_db

        ensure_demo_db(str(self.demo_db))

    # -- processes ------------------------------------------------------------------------

    def components(self) -> list[Component]:
        """What :meth:`start` starts, in order: the bridge (if asked; free ports are picked for it when none
        are set), then the topology's components."""
        parts = []
        if self.bridge:
            self.statsd_port = self.statsd_port or free_udp_port()
            self.metrics_port = self.metrics_port or free_port()
            parts.append(Component("bridge", (
                str(VENV_BIN / "airflow-export-bridge"), "--statsd-port", str(self.statsd_port),
                "--metrics-port", str(self.metrics_port), "--mapping", str(REPO / "deploy" / "statsd" / "mapping.yml"),
            ), ready_url=self.metrics_url))
        return parts + list(self.topology.components)

    def listening_ports(self) -> dict[str, int]:
        """The TCP ports this stack will listen on, by component."""
        ports = {"api-server": self.api_port}
        if self.bridge and self.metrics_port:
            ports["bridge"] = self.metrics_port
        if self.topology.lifecycle is not None:
            ports.update(self.topology.lifecycle.ports())
        return ports

    def start_services(self) -> None:
        """Prepare and start the topology's services (databases, broker, storage) and wait for them.

        :raises ComponentExited: a service ended while starting.
        """
        if not self.topology.services:
            return
        lifecycle = self.topology.lifecycle
        if lifecycle is not None:
            lifecycle.prepare()
        env = self.env()
        for service in self.topology.services:
            self.processes.start(service.name, service.argv, {**env, **service.env})
        if lifecycle is not None:
            try:
                lifecycle.services_ready()
            except Exception:
                self.processes.check_alive()  # a service that died says why
                raise

    def start(self, ready_timeout: float = 30) -> None:
        """Start every component, each in its own process group; wait for each one's ``ready_url``.

        :raises ComponentExited: a component ended while starting (name and log tail in the message).
        :raises TimeoutError: a ``ready_url`` did not answer within ``ready_timeout`` s.
        """
        components = self.components()  # first: it may pick the bridge's ports, which env() passes on
        env = self.env()
        for component in components:
            self.processes.start(component.name, component.argv, {**env, **component.env})
            if component.ready_url:
                self._wait_ready(component, ready_timeout)

    def _wait_ready(self, component: Component, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.processes.check_alive()
            try:
                with urllib.request.urlopen(component.ready_url or "", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{component.name} did not answer on {component.ready_url} "
                                       f"after {timeout:.0f} s:\n{self.log_tail(component.name)}") from None
                time.sleep(0.2)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every component's process group, wait up to ``timeout`` s, then SIGKILL them; then
        remove the services' files."""
        self.processes.stop(timeout)
        if self.topology.lifecycle is not None:
            self.topology.lifecycle.cleanup()

    def wait_healthy(self, timeout: float = 180) -> None:
        """Wait until every component runs and each one with a ``health`` key reports healthy.

        :raises ComponentExited: a component ended (name and log tail in the message).
        :raises TimeoutError: not healthy in time (the last answer and the scheduler's log tail in the message).
        """
        keys = [c.health for c in self.topology.components if c.health]
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            self.processes.check_alive()
            try:
                last = self.api.health()
                if all(last.get(key, {}).get("status") == "healthy" for key in keys):
                    return
            except (OSError, json.JSONDecodeError) as exc:
                last = repr(exc)
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy after {timeout:.0f} s: {last}\n{self.log_tail('scheduler')}")

    def scrape(self) -> str:
        """The bridge's ``/metrics`` exposition text (with ``bridge=True``)."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as resp:
            return resp.read().decode()

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last ``lines`` lines of component ``name``'s output."""
        return self.processes.log_tail(name, lines)


@contextmanager
def running_stack(stack: Stack, *, init: bool = True, timeout: float = 180) -> Iterator[Stack]:
    """Refuse taken ports, init (optionally), start, wait healthy; always stop what was started.

    :raises PortTakenError: before anything is created or started.
    """
    refuse_taken_ports(stack.listening_ports())
    try:
        stack.start_services()  # the metadata DB must run before init migrates it
        if init:
            stack.init()
        stack.start()
        stack.wait_healthy(timeout)
        yield stack
    finally:
        stack.stop()
