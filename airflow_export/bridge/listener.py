"""The StatsD socket: UDP datagrams in, ``\\n``-separated lines out.

Modelled on prometheus/statsd_exporter ``pkg/listener`` (``StatsDUDPListener``): one thread reads
datagrams of up to 65,535 bytes and hands each one to a callback; a datagram that raises is
counted in :attr:`UDPListener.internal_errors` and logged, and the listener goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["UDPListener", "kernel_udp_stats", "split_datagram"]

log = logging.getLogger("airflow_export.bridge")

_MAX_DATAGRAM = 65535


def split_datagram(data: bytes) -> tuple[list[str | None], list[str]]:
    """Split one datagram on ``\\n`` into text lines.

    :param data: the datagram payload.
    :returns: ``(lines, invalid)``: every part (empty ones too), ``None`` for a part that is not
        valid UTF-8; ``invalid`` holds the ``repr`` of those parts in reverse order (pop as met).
    """
    try:
        return data.decode("utf-8").split("\n"), []  # type: ignore[return-value]
    except UnicodeDecodeError:
        pass
    lines: list[str | None] = []
    invalid: list[str] = []
    for raw in data.split(b"\n"):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(None)
            invalid.append(repr(raw))
    invalid.reverse()
    return lines, invalid


class UDPListener:
    """A UDP socket read by one daemon thread.

    :param host: address to bind.
    :param port: port to bind, 0 for a free one (read the bound one from :attr:`port`).
    :param handle: called with each datagram's payload, from the listener thread.
    :param read_buffer_bytes: ``SO_RCVBUF`` asked for (``SO_RCVBUFFORCE`` first where the process may
        use it; the kernel may cap it); 0 keeps the system default.
    """

    def __init__(self, host: str, port: int, handle: Callable[[bytes], None], read_buffer_bytes: int) -> None:
        self.host = host
        self.port = port
        self.read_buffer_bytes = read_buffer_bytes
        #: datagrams whose handling raised an unexpected error
        self.internal_errors = 0
        #: ``SO_RCVBUF`` as the kernel reports it after binding (0 before)
        self.receive_buffer_bytes = 0
        self._requested_port = port
        self._handle = handle
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def bound(self) -> bool:
        """Whether the socket is open."""
        return self._socket is not None

    def bind(self) -> None:
        """Open and bind the socket (not yet reading).

        :raises OSError: the address cannot be bound (the socket is closed again).
        """
        family, _, _, _, address = socket.getaddrinfo(self.host, self._requested_port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if self.read_buffer_bytes > 0:
                _set_receive_buffer(sock, self.read_buffer_bytes)
            sock.bind(address)
            sock.settimeout(0.5)
        except BaseException:
            sock.close()
            raise
        self.receive_buffer_bytes = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        self.port = sock.getsockname()[1]
        self._socket = sock

    def start(self) -> threading.Thread:
        """Start the reading thread (after :meth:`bind`).

        :returns: the started daemon thread.
        """
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="statsd-bridge-udp", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the thread to stop and wake it at once (no waiting for its receive timeout)."""
        self._stopping.set()
        if self._socket is None:
            return
        with contextlib.suppress(OSError), socket.socket(self._socket.family, socket.SOCK_DGRAM) as wake:
            wake.sendto(b"", self._socket.getsockname()[:2])

    def close(self) -> None:
        """Close the socket; safe to call twice."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def kernel_stats(self) -> tuple[int, int] | None:
        """``(drops, queued bytes)`` of the socket, see :func:`kernel_udp_stats`."""
        return kernel_udp_stats(self._socket)

    def _serve(self) -> None:
        sock = self._socket
        assert sock is not None
        stopping = self._stopping
        while not stopping.is_set():
            try:
                data = sock.recv(_MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError as exc:
                if stopping.is_set():
                    break
                log.error("UDP receive failed: %s", exc)
                time.sleep(0.1)
                continue
            if stopping.is_set():
                break
            try:
                self._handle(data)
            except Exception:  # never let one packet kill the listener
                self.internal_errors += 1
                log.exception("failed to handle a packet of %d bytes", len(data))


def _set_receive_buffer(sock: socket.socket, size: int) -> None:
    """``SO_RCVBUFFORCE`` (beyond the system cap, if permitted), else ``SO_RCVBUF``."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        if force is None:
            raise OSError("no SO_RCVBUFFORCE")
        sock.setsockopt(socket.SOL_SOCKET, force, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def kernel_udp_stats(sock: socket.socket | None) -> tuple[int, int] | None:
    """``(drops, rx_queue bytes)`` of a UDP socket from ``/proc/net/udp{,6}`` (Linux), or ``None``.

    :param sock: the socket (matched by inode), or ``None``.
    """
    if sock is None:
        return None
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except OSError:
        return None
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii") as handle:
                next(handle, None)
                for row in handle:
                    fields = row.split()
                    if len(fields) >= 13 and fields[9] == inode:
                        queued = int(fields[4].split(":")[1], 16)
                        return int(fields[12]), queued
        except (OSError, ValueError, IndexError):
            continue
    return None
