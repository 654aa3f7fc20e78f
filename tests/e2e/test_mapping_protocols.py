"""WebSocket upgrades and gRPC (HTTP/2 upstream) through a real Envoy."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.upstreams import GRPC_SERVICE, GrpcEcho, WebSocketEcho


@pytest.fixture(scope="module")
def ws_server() -> Iterator[WebSocketEcho]:
    with WebSocketEcho() as server:
        yield server


@pytest.fixture(scope="module")
def grpc_server() -> Iterator[GrpcEcho]:
    with GrpcEcho() as server:
        yield server


@pytest.fixture(scope="module")
def gw(ws_server: WebSocketEcho, grpc_server: GrpcEcho) -> Iterator[RunningGateway]:
    ws, g = f"127.0.0.1:{ws_server.port}", f"127.0.0.1:{grpc_server.port}"
    text = "".join(
        [
            mapping("ws", ws, "/ws/", allow_upgrade=["websocket"]),
            mapping("ws-old", ws, "/ws-old/", use_websocket=True),
            mapping("ws-off", ws, "/ws-off/"),
            mapping("grpc", g, f"/{GRPC_SERVICE}/", rewrite="", grpc=True, timeout_ms=5000),
            # the same upstream without `grpc: true`: Envoy speaks HTTP/1.1 to it
            mapping("grpc-h1", g, f"/{GRPC_SERVICE}/", rewrite="", headers={"x-h1": "yes"}),
        ]
    )
    with RunningGateway({"mappings.yaml": text}) as gateway:
        yield gateway


@pytest.mark.parametrize("prefix", ["/ws/", "/ws-old/"])
def test_websocket_upgrade_and_echo(gw: RunningGateway, prefix: str) -> None:
    with connect(f"ws://127.0.0.1:{gw.http_port}{prefix}chat", open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "path /chat"  # the prefix was rewritten to /
        for message in ["hello", "wörld", "x" * 10_000]:
            ws.send(message)
            assert ws.recv(timeout=5) == message
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"\x00\x01binary"


def test_websocket_refused_without_allow_upgrade(gw: RunningGateway) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(f"ws://127.0.0.1:{gw.http_port}/ws-off/chat", open_timeout=5)
    assert info.value.response.status_code == 403  # Envoy refuses an upgrade not allowed


@pytest.fixture(scope="module")
def channel(gw: RunningGateway) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{gw.http_port}") as ch:
        yield ch


def test_grpc_unary(channel: grpc.Channel, grpc_server: GrpcEcho) -> None:
    call = channel.unary_unary(f"/{GRPC_SERVICE}/Unary")
    assert call(b"ping", timeout=5) == b"echo:ping"
    assert grpc_server.peers, "the server saw the call"


def test_grpc_server_streaming(channel: grpc.Channel) -> None:
    call = channel.unary_stream(f"/{GRPC_SERVICE}/Stream")
    replies = list(call(b"5:tick", timeout=5))
    assert replies == [f"{i}:tick".encode() for i in range(5)]


def test_grpc_unknown_method_status(channel: grpc.Channel) -> None:
    call = channel.unary_unary(f"/{GRPC_SERVICE}/Missing")
    with pytest.raises(grpc.RpcError) as info:
        call(b"x", timeout=5)
    assert info.value.code() is grpc.StatusCode.UNIMPLEMENTED  # answered by the real server


def test_grpc_needs_http2_upstream(gw: RunningGateway) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{gw.http_port}") as ch:
        call = ch.unary_unary(f"/{GRPC_SERVICE}/Unary")
        with pytest.raises(grpc.RpcError) as info:
            call(b"ping", timeout=5, metadata=[("x-h1", "yes")])
    assert info.value.code() is not grpc.StatusCode.OK
