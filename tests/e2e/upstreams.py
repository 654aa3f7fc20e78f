"""Scriptable upstreams for end-to-end tests: HTTP with failure modes, WebSocket, gRPC.

Each runs in threads of the test process on loopback and records what it received.
"""

from __future__ import annotations

import threading
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


class AccessLogReceiver(GrpcServed):
    """A real gRPC access-log service (`envoy.service.accesslog.v3`, stubs from
    xds-protos) on loopback: records every entry Envoy streams to it.

    `http_entries` / `tcp_entries` hold the entries with the `log_name` each came under.
    """

    def __init__(self) -> None:
        from envoy.service.accesslog.v3 import als_pb2_grpc

        super().__init__()
        self.http_entries: list[tuple[str, Any]] = []
        self.tcp_entries: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Service(als_pb2_grpc.AccessLogServiceServicer):  # type: ignore[misc]
            def StreamAccessLogs(self, request_iterator: Any, context: Any) -> Any:
                from envoy.service.accesslog.v3 import als_pb2

                log_name = ""
                for message in request_iterator:
                    if message.HasField("identifier"):  # only the first message of a stream
                        log_name = message.identifier.log_name
                    with receiver._lock:
                        for e in message.http_logs.log_entry:
                            receiver.http_entries.append((log_name, e))
                        for e in message.tcp_logs.log_entry:
                            receiver.tcp_entries.append((log_name, e))
                return als_pb2.StreamAccessLogsResponse()

        als_pb2_grpc.add_AccessLogServiceServicer_to_server(Service(), self._grpc)

    def http_logs(self) -> list[tuple[str, Any]]:
        """(log_name, HTTPAccessLogEntry) received so far."""
        with self._lock:
            return list(self.http_entries)

    def tcp_logs(self) -> list[tuple[str, Any]]:
        """(log_name, TCPAccessLogEntry) received so far."""
        with self._lock:
            return list(self.tcp_entries)
