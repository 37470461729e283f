"""An S3-compatible server on loopback (moto in server mode) and an Airflow connection to it.

``aws_s3`` is an Airflow connection given by ``AIRFLOW_CONN_AWS_S3`` (JSON, ``conn_type: aws``,
fake keys, ``endpoint_url`` = the moto server), so ``ObjectStoragePath(..., conn_id="aws_s3")``
goes through the amazon provider and s3fs exactly as in production, to 127.0.0.1 only.
Every test here also checks that no socket was opened to an address outside loopback.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import logging
import socket
import sys

import pytest

CONN_ID = "aws_s3"
FAKE_KEY, FAKE_SECRET, REGION = "testing-key", "testing-secret", "us-east-1"

_outside: list[object] = []
_watching = False


def _audit(event: str, args: tuple) -> None:
    if not _watching or event != "socket.connect":
        return
    sock, address = args
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        loopback = ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        loopback = address[0] == "localhost"
    if not loopback:
        _outside.append(address)


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def only_loopback():
    """Fail a test that opened a TCP connection to anything but loopback (IMDS, real AWS ...)."""
    global _watching
    _outside.clear()
    _watching = True
    yield
    _watching = False
    assert _outside == [], f"connections outside loopback: {_outside}"


@pytest.fixture(scope="session")
def s3_endpoint():
    """``http://127.0.0.1:PORT`` of a moto S3 server running for the test session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "AIRFLOW_CONN_AWS_S3",
            json.dumps({
                "conn_type": "aws", "login": FAKE_KEY, "password": FAKE_SECRET,
                "extra": {"endpoint_url": endpoint, "region_name": REGION},
            }),
        )
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint):
    """A plain boto3 client on the moto server, to look at buckets independently of s3fs."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id=FAKE_KEY, aws_secret_access_key=FAKE_SECRET,
        region_name=REGION,
    )


_bucket_numbers = itertools.count(1)


@pytest.fixture()
def bucket(s3_client) -> str:
    """A new, empty bucket for one test."""
    name = f"export-test-{next(_bucket_numbers)}"
    s3_client.create_bucket(Bucket=name)
    return name
