"""Scriptable upstreams for end-to-end tests: HTTP with failure modes, WebSocket, gRPC.

Each runs in threads of the test process on loopback and records what it received.
"""

from __future__ import annotations

from typing import Any

import grpc
from websockets.sync.server import Server, ServerConnection, serve

from tests.e2e.servers import GrpcServed, ServedInThread


class WebSocketEcho(ServedInThread):
    """A WebSocket server: first says `path <request path>`, then echoes every message."""

    def __init__(self) -> None:
        def handler(ws: ServerConnection) -> None:
            ws.send(f"path {ws.request.path if ws.request else '?'}")
            for message in ws:
                ws.send(message)

        server: Server = serve(handler, "127.0.0.1", 0)
        self.port = int(server.socket.getsockname()[1])
        self._serve_in_thread(server)


GRPC_SERVICE = "echo.Echo"
"""The tiny gRPC service: `Unary` echoes its request, `Stream` sends it back N times."""


class GrpcEcho(GrpcServed):
    """A gRPC server (HTTP/2 only) with raw-bytes methods, no generated code.

    `/echo.Echo/Unary`: answers `echo:` + request. `/echo.Echo/Stream`: the request is
    `<count>:<text>`; answers `<i>:<text>` for i in 0..count-1.
    """

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[str] = []

        def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.peers.append(context.peer())
            return b"echo:" + request

        def stream(request: bytes, context: grpc.ServicerContext) -> Any:
            count, _, text = request.partition(b":")
            for i in range(int(count)):
                yield str(i).encode() + b":" + text

        handler = grpc.method_handlers_generic_handler(
            GRPC_SERVICE,
            {
                "Unary": grpc.unary_unary_rpc_method_handler(unary),
                "Stream": grpc.unary_stream_rpc_method_handler(stream),
            },
        )
        self._grpc.add_generic_rpc_handlers((handler,))
