"""Protocols over TLS through a real Envoy: gRPC (unary and streaming), HTTP/2 and a
WebSocket, each on the HTTPS port with a certificate from the test CA.

One Host `*` terminates TLS with a certificate for p.example.com; clients send that
SNI (and verify the certificate against the test CA) while connecting to 127.0.0.1.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import grpc
import httpx
import pytest
from websockets.sync.client import connect

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.tls import TlsClient, host, tls_secret
from tests.e2e.upstreams import GRPC_SERVICE, GrpcEcho, WebSocketEcho

pytestmark = pytest.mark.e2e

NAME = "p.example.com"


@pytest.fixture(scope="module")
def ca() -> TestCA:
    """The CA the gateway's certificate is signed by."""
    return TestCA()


@pytest.fixture(scope="module")
def gw(ca: TestCA) -> Iterator[tuple[RunningGateway, GrpcEcho]]:
    """gRPC, WebSocket and plain HTTP upstreams behind one TLS Host."""
    with WebSocketEcho() as ws, GrpcEcho() as g, EchoUpstream("up-h") as up:
        ws_at, g_at = f"127.0.0.1:{ws.port}", f"127.0.0.1:{g.port}"
        files = {
            "secrets.yaml": tls_secret("p-tls", ca.issue(NAME)),
            "hosts.yaml": host("p", "*", "p-tls", "Reject"),
            "mappings.yaml": "".join(
                [
                    mapping("ws", ws_at, "/ws/", hostname="*", allow_upgrade=["websocket"]),
                    mapping("grpc", g_at, f"/{GRPC_SERVICE}/", hostname="*", rewrite="", grpc=True),
                    mapping("h", up.service, "/h/", hostname="*"),
                ]
            ),
        }
        with RunningGateway(files) as gateway:
            yield gateway, g


def _context(ca: TestCA) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca.cert_pem.decode())


@pytest.fixture(scope="module")
def channel(gw: tuple[RunningGateway, GrpcEcho], ca: TestCA) -> Iterator[grpc.Channel]:
    """A gRPC channel over TLS trusting the test CA, with SNI p.example.com."""
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
    options = [("grpc.ssl_target_name_override", NAME)]
    target = f"127.0.0.1:{gw[0].https_port}"
    with grpc.secure_channel(target, credentials, options=options) as ch:
        yield ch


def test_grpc_unary_over_tls(channel: grpc.Channel, gw: tuple[RunningGateway, GrpcEcho]) -> None:
    call = channel.unary_unary(f"/{GRPC_SERVICE}/Unary")
    assert call(b"ping", timeout=5) == b"echo:ping"
    assert gw[1].peers, "the server saw the call"


def test_grpc_streaming_over_tls(channel: grpc.Channel) -> None:
    call = channel.unary_stream(f"/{GRPC_SERVICE}/Stream")
    assert list(call(b"4:tick", timeout=5)) == [f"{i}:tick".encode() for i in range(4)]


def test_grpc_refuses_an_untrusted_certificate(gw: tuple[RunningGateway, GrpcEcho]) -> None:
    other = TestCA("another CA")
    credentials = grpc.ssl_channel_credentials(root_certificates=other.cert_pem)
    options = [("grpc.ssl_target_name_override", NAME)]
    target = f"127.0.0.1:{gw[0].https_port}"
    with (
        grpc.secure_channel(target, credentials, options=options) as ch,
        pytest.raises(grpc.RpcError) as info,
    ):
        ch.unary_unary(f"/{GRPC_SERVICE}/Unary")(b"ping", timeout=5)
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE


def test_http2_over_tls(gw: tuple[RunningGateway, GrpcEcho], ca: TestCA) -> None:
    url = f"https://127.0.0.1:{gw[0].https_port}/h/x"
    with httpx.Client(http2=True, verify=_context(ca)) as client:
        responses = [client.get(url, extensions={"sni_hostname": NAME}) for _ in range(3)]
    for r in responses:
        assert (r.status_code, r.http_version) == (200, "HTTP/2")
        assert r.json()["upstream"] == "up-h"
        assert r.json()["headers"]["x-forwarded-proto"] == "https"


def test_http1_still_offered_over_tls(gw: tuple[RunningGateway, GrpcEcho], ca: TestCA) -> None:
    client = TlsClient(gw[0].https_port, NAME, ca)
    try:
        assert client.sock.selected_alpn_protocol() == "http/1.1"
        assert client.get("/h/x")[0] == 200
    finally:
        client.close()


def test_websocket_over_tls(gw: tuple[RunningGateway, GrpcEcho], ca: TestCA) -> None:
    url = f"wss://127.0.0.1:{gw[0].https_port}/ws/chat"
    with connect(url, ssl=_context(ca), server_hostname=NAME, open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "path /chat"
        for message in ["hello", "x" * 10_000]:
            ws.send(message)
            assert ws.recv(timeout=5) == message


def test_cleartext_rejected_while_tls_routes(gw: tuple[RunningGateway, GrpcEcho]) -> None:
    assert gw[0].get("/h/x").status_code == 404  # the Host's insecure action is Reject
