"""TCPMapping through a real Envoy: bytes round-trip, weighted groups, port removal."""

from __future__ import annotations

import contextlib
import os
import socket
from collections import Counter
from contextlib import ExitStack

from tests.e2e.gateway import RunningGateway, poll
from tests.e2e.helpers import free_port
from tests.e2e.tcp_echo import TcpEcho, exchange, tcp_mapping


def tag_of(port: int) -> bytes | None:
    """The tag of the upstream that took one connection, or None if it failed."""
    try:
        return exchange(port, b"plain text, not TLS\n")[:2] or None
    except OSError:
        return None


def refused(port: int) -> bool:
    """True once nothing listens on the port any more."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_tcp_round_trip_weights_and_removal() -> None:
    with ExitStack() as stack:
        a = stack.enter_context(TcpEcho(b"a:"))
        b = stack.enter_context(TcpEcho(b"b:"))
        port, split_port = free_port(), free_port()
        gw = stack.enter_context(RunningGateway({"tcp.yaml": tcp_mapping("echo", port, a.service)}))
        poll(lambda: tag_of(port) == b"a:")

        # Bytes round-trip unchanged (more than one read's worth).
        payload = os.urandom(300_000)
        assert exchange(port, payload) == b"a:" + payload

        # A weighted group on another port: ~75/25 over a few hundred connections.
        gw.write(
            "split.yaml",
            tcp_mapping("blue", split_port, a.service, weight=75)
            + tcp_mapping("green", split_port, b.service, weight=25),
        )
        poll(lambda: tag_of(split_port) is not None)
        tags = Counter(tag_of(split_port) for _ in range(300))
        assert set(tags) == {b"a:", b"b:"}, tags
        assert 180 <= tags[b"a:"] <= 270, tags  # expected 225, sd ~7.5

        # Removing the TCPMapping closes its port; the other port keeps working.
        gw.remove("tcp.yaml")
        poll(lambda: refused(port), timeout=10)
        assert tag_of(split_port) is not None


def test_tcp_mapping_on_http_port_is_an_error() -> None:
    with TcpEcho(b"a:") as a, RunningGateway() as gw:
        gw.write("tcp.yaml", tcp_mapping("clash", gw.http_port, a.service))

        def errors() -> list[str]:
            return [e["message"] for e in gw.overview()["errors"]]

        found = poll(lambda: errors())
        assert any("HTTP listener's port" in m for m in found), found
        assert gw.get("/nothing").status_code == 404  # the HTTP listener is untouched


def test_sni_host_picks_the_filter_chain() -> None:
    """`host` matches the SNI of a TLS ClientHello (passed through); others fall through."""
    import ssl

    with TcpEcho(b"a:") as a, TcpEcho(b"b:") as b:
        port = free_port()
        files = {
            "tcp.yaml": tcp_mapping("sni", port, a.service, host="a.example.com")
            + tcp_mapping("rest", port, b.service)
        }
        with RunningGateway(files):
            poll(lambda: tag_of(port) == b"b:")  # not TLS: the catch-all chain
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            before = a.connections
            # the echo answers garbage, so the handshake fails: only routing matters
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
                contextlib.suppress(ssl.SSLError, OSError),
            ):
                context.wrap_socket(sock, server_hostname="a.example.com")
            poll(lambda: a.connections == before + 1)
