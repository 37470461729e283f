"""The UDP listener: datagrams split into lines, a handler that raises is counted, not fatal."""

from __future__ import annotations

import socket
import threading

import pytest

from airflow_export.bridge.listener import UDPListener, kernel_udp_stats, split_datagram
from tests.bridge.support import send_udp, wait_for


@pytest.mark.parametrize(
    ("data", "lines", "invalid"),
    [
        (b"", [""], []),
        (b"a:1|c", ["a:1|c"], []),
        (b"a:1|c\n", ["a:1|c", ""], []),
        (b"a:1|c\n\nb:2|g", ["a:1|c", "", "b:2|g"], []),
        ("é:1|c".encode(), ["é:1|c"], []),
        (b"ok:1|c\n\xff\xfe:1|c\nok:1|c", ["ok:1|c", None, "ok:1|c"], ["b'\\xff\\xfe:1|c'"]),
        (b"\xff\n\xfe", [None, None], ["b'\\xfe'", "b'\\xff'"]),
    ],
    ids=["empty", "one line", "trailing newline", "empty line kept", "utf-8", "one invalid line", "invalid reversed"],
)
def test_split_datagram(data: bytes, lines: list[str | None], invalid: list[str]) -> None:
    assert split_datagram(data) == (lines, invalid)


def test_listener_hands_each_datagram_over_and_survives_a_handler_error() -> None:
    received: list[bytes] = []
    done = threading.Event()

    def handle(data: bytes) -> None:
        if data == b"boom":
            raise RuntimeError("boom")
        received.append(data)
        if data == b"last":
            done.set()

    listener = UDPListener("127.0.0.1", 0, handle, read_buffer_bytes=0)
    listener.bind()
    assert listener.bound and listener.port != 0 and listener.receive_buffer_bytes > 0
    thread = listener.start()
    try:
        send_udp(listener.port, b"first", b"boom", b"last")
        assert done.wait(10)
        wait_for(lambda: listener.internal_errors == 1)
    finally:
        listener.stop()
        thread.join(5)
        listener.close()
    assert not thread.is_alive()
    assert received == [b"first", b"last"]
    assert not listener.bound
    listener.close()  # idempotent


def test_port_in_use_raises_and_leaves_the_listener_unbound() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        listener = UDPListener("127.0.0.1", taken.getsockname()[1], lambda data: None, read_buffer_bytes=0)
        with pytest.raises(OSError):
            listener.bind()
        assert not listener.bound


def test_kernel_udp_stats_of_no_socket_is_none() -> None:
    assert kernel_udp_stats(None) is None
