"""Scriptable upstreams for end-to-end tests: HTTP with failure modes, WebSocket, gRPC.

Each runs in threads of the test process on loopback and records what it received.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import grpc
from websockets.sync.server import Server, ServerConnection, serve


class ScriptedUpstream:
    """An HTTP/1.1 upstream whose answer depends on the path.

    - `.../status/<code>...`: answers `<code>`
    - `.../flaky/<key>/<n>`: 503 for the first `n` requests with that key, then 200
    - `.../slow/<ms>...`: waits `ms` milliseconds, then 200
    - `/healthz`: 200 while `healthy`, else 503
    - anything else: 200, or 500 while `failing`

    The first of these keywords in the path decides, so a Mapping prefix may precede it.

    Bodies are JSON: `{"upstream", "method", "path", "headers"}` (header names lower-cased).
    Every request is recorded in `requests` as `(method, path, headers)`.
    """

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.healthy = True
        self.failing = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with upstream._lock:
                    upstream.requests.append((self.command, self.path, headers))
                status = upstream._status(self.path)
                body = json.dumps(
                    {
                        "upstream": upstream.name,
                        "method": self.command,
                        "path": self.path,
                        "headers": headers,
                    }
                ).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _status(self, path: str) -> int:
        parts = path.split("?")[0].strip("/").split("/")
        for i, word in enumerate(parts):  # the first keyword decides, wherever it is
            args = parts[i + 1 :]
            if word == "healthz":
                return 200 if self.healthy else 503
            if word == "status" and args:
                return int(args[0])
            if word == "flaky" and len(args) > 1:
                with self._lock:
                    self.attempts[args[0]] += 1
                    seen = self.attempts[args[0]]
                return 503 if seen <= int(args[1]) else 200
            if word == "slow" and args:
                time.sleep(int(args[0]) / 1000)
                return 200
        return 500 if self.failing else 200

    def paths(self) -> list[str]:
        """Paths received so far, in order (health checks excluded)."""
        with self._lock:
            return [p for _, p, _ in self.requests if p != "/healthz"]

    @property
    def service(self) -> str:
        """The Mapping `service` value pointing at this upstream."""
        return f"{self.host}:{self.port}"

    def __enter__(self) -> ScriptedUpstream:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class WebSocketEcho:
    """A WebSocket server: first says `path <request path>`, then echoes every message."""

    def __init__(self) -> None:
        def handler(ws: ServerConnection) -> None:
            ws.send(f"path {ws.request.path if ws.request else '?'}")
            for message in ws:
                ws.send(message)

        self._server: Server = serve(handler, "127.0.0.1", 0)
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebSocketEcho:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()


GRPC_SERVICE = "echo.Echo"
"""The tiny gRPC service: `Unary` echoes its request, `Stream` sends it back N times."""


class GrpcEcho:
    """A gRPC server (HTTP/2 only) with raw-bytes methods, no generated code.

    `/echo.Echo/Unary`: answers `echo:` + request. `/echo.Echo/Stream`: the request is
    `<count>:<text>`; answers `<i>:<text>` for i in 0..count-1.
    """

    def __init__(self) -> None:
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
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> GrpcEcho:
        self._server.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop(grace=None)
