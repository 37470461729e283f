"""Loopback ports: pick free ones, refuse taken ones before anything starts."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping

HOST = "127.0.0.1"


class PortTakenError(RuntimeError):
    """A port the stack must listen on already belongs to another program; nothing was started."""


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def free_udp_port() -> int:
    """A UDP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def tcp_port_taken(port: int) -> bool:
    """True if something listens on TCP ``port`` of 127.0.0.1 (or on every address).

    Binds with ``SO_REUSEADDR`` like the servers do, so connections in TIME_WAIT do not count.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    with socket.socket() as probe, contextlib.suppress(OSError):
        probe.settimeout(1)
        probe.connect((HOST, port))
        return True
    return False


def refuse_taken_ports(ports: Mapping[str, int]) -> None:
    """Check every TCP port the stack will listen on.

    :param ports: what listens there (e.g. ``"api-server"``) -> port.
    :raises PortTakenError: one or more ports are taken (all of them are named in the message).
    """
    taken = [f"{port} ({what})" for what, port in ports.items() if tcp_port_taken(port)]
    if taken:
        raise PortTakenError(
            f"port {', '.join(taken)} on {HOST} is already in use by another program; nothing was started"
        )
