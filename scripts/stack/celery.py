"""The CeleryExecutor topology: what a production deployment runs, on loopback (ADR 0066).

Services, each on a loopback port of its own and started before the metadata DB is migrated:
PostgreSQL (metadata DB and Celery result backend, a throw-away cluster in a temporary directory,
run as the ``postgres`` user when started as root: :mod:`scripts.stack.postgres`), Redis (the broker) and
an S3 server (moto) holding the export root ``s3://airflow-export/exports``. Then the Airflow
components: api-server, scheduler, dag-processor, triggerer and two Celery workers (``w1``, ``w2``,
concurrency 3 each, each with its own log-server port and ``AIRFLOW_EXPORT_WORKER`` naming it).

Exports go to object storage through the export root configured once (``[export] root`` and
``[export] root_conn_id``, ADR 0065): no disk shared by the workers is assumed for them.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex

from airflow_export.names import WORKER_ENV
from scripts.stack.ports import HOST, free_port
from scripts.stack.postgres import as_server_user, find_bindir, initdb, server_owned_dir
from scripts.stack.topology import VENV_BIN, Component, Topology, airflow_component

WORKERS = ("w1", "w2")
WORKER_CONCURRENCY = 3
BUCKET = "airflow-export"
EXPORT_ROOT = f"s3://{BUCKET}/exports"
ROOT_CONN_ID = "export_s3"
S3_KEY, S3_SECRET, S3_REGION = "testing-key", "testing-secret", "us-east-1"
DB_USER = "airflow"


def tcp_ready(port: int, timeout: float = 30) -> None:
    """Wait until something accepts TCP connections on loopback ``port``.

    :raises TimeoutError: nothing did within ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing accepts connections on {HOST}:{port} after {timeout:.0f} s") from None
            time.sleep(0.2)


@dataclass
class CeleryServices:
    """Ports and files of one Celery stack; :meth:`topology` gives its :class:`Topology`.

    :param pg_port, redis_port, s3_port: loopback ports of PostgreSQL, Redis and the S3 server.
    :param log_ports: each worker's log-server port.
    :param trigger_log_port: the triggerer's log-server port.
    :param workdir: the PostgreSQL cluster's temporary directory (created by :meth:`prepare`).
    """

    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    s3_port: int = field(default_factory=free_port)
    log_ports: dict[str, int] = field(default_factory=lambda: {w: free_port() for w in WORKERS})
    trigger_log_port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / f"airflow-export-celery-{token_hex(6)}")

    @property
    def db_url(self) -> str:
        return f"postgresql+psycopg://{DB_USER}@{HOST}:{self.pg_port}/postgres"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    def prepare(self) -> None:
        """A fresh PostgreSQL cluster (``initdb``) in a temporary directory the server's user owns."""
        server_owned_dir(self.workdir)
        for name in WORKERS:
            self.worker_tmp(name).mkdir()
        initdb(find_bindir(), self.workdir / "pg", DB_USER)

    def services_ready(self) -> None:
        """Wait for the three services; create the export bucket."""
        for port in (self.pg_port, self.redis_port, self.s3_port):
            tcp_ready(port)
        import boto3

        s3 = boto3.client("s3", endpoint_url=self.s3_endpoint, aws_access_key_id=S3_KEY,
                          aws_secret_access_key=S3_SECRET, region_name=S3_REGION)
        s3.create_bucket(Bucket=BUCKET)
        deadline = time.monotonic() + 30
        while subprocess.run([str(find_bindir() / "pg_isready"), "-h", HOST, "-p", str(self.pg_port), "-U", DB_USER],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on port {self.pg_port} not ready after 30 s")
            time.sleep(0.3)

    def cleanup(self) -> None:
        """Remove the cluster's directory (the server was stopped)."""
        shutil.rmtree(self.workdir, ignore_errors=True)

    def services(self) -> tuple[Component, ...]:
        postgres = as_server_user([
            str(find_bindir() / "postgres"), "-D", str(self.workdir / "pg"), "-p", str(self.pg_port), "-h", HOST,
            "-k", str(self.workdir), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200",
        ])
        return (
            Component("postgres", tuple(postgres)),
            Component("redis", ("redis-server", "--port", str(self.redis_port), "--bind", HOST, "--save", "",
                                "--appendonly", "no", "--protected-mode", "yes", "--dir", tempfile.gettempdir())),
            Component("s3", (str(VENV_BIN / "moto_server"), "-H", HOST, "-p", str(self.s3_port))),
        )

    def env(self) -> dict[str, str]:
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{HOST}:{self.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.db_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
            # The export root, once, for every task on every worker (ADR 0065).
            "AIRFLOW__EXPORT__ROOT": EXPORT_ROOT,
            "AIRFLOW__EXPORT__ROOT_CONN_ID": ROOT_CONN_ID,
            f"AIRFLOW_CONN_{ROOT_CONN_ID.upper()}": json.dumps({
                "conn_type": "aws", "login": S3_KEY, "password": S3_SECRET,
                "extra": {"endpoint_url": self.s3_endpoint, "region_name": S3_REGION},
            }),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def worker_tmp(self, name: str) -> Path:
        """Worker ``name``'s own temporary directory (``TMPDIR``: where exports stage their files)."""
        return self.workdir / f"{name}-tmp"

    def worker(self, name: str) -> Component:
        return Component(
            f"worker-{name}",
            (str(VENV_BIN / "airflow"), "celery", "worker", "--celery-hostname", f"{name}@%h",
             "--concurrency", str(WORKER_CONCURRENCY)),
            env={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[name]), WORKER_ENV: name,
                 "TMPDIR": str(self.worker_tmp(name))},
        )

    def topology(self) -> Topology:
        return Topology(
            name="celery",
            env=self.env(),
            services=self.services(),
            components=(
                airflow_component("api-server", health="metadatabase"),
                airflow_component("scheduler", health="scheduler"),
                airflow_component("dag-processor", health="dag_processor"),
                airflow_component("triggerer", health="triggerer"),
                *(self.worker(name) for name in WORKERS),
            ),
            export_root=EXPORT_ROOT,
            lifecycle=self,
        )

    def ports(self) -> dict[str, int]:
        """The TCP ports the services and workers listen on."""
        return {"postgres": self.pg_port, "redis": self.redis_port, "s3": self.s3_port,
                "triggerer log server": self.trigger_log_port,
                **{f"worker-{w} log server": p for w, p in self.log_ports.items()}}


def celery_topology() -> Topology:
    """A Celery topology on freshly picked loopback ports."""
    return CeleryServices().topology()
