"""The shared plumbing of the test servers (echo.py, upstreams.py, auth_servers.py,
jwks.py): serving in a thread of the test process while a `with` block runs, and the
loopback HTTP(S) server they build on."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Protocol, Self

import grpc


class _Serving(Protocol):
    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...


class ServedInThread:
    """Base of a test server that serves in a daemon thread while its `with` block runs.

    A subclass builds its server and hands it to `_serve_in_thread` in `__init__`; the
    block's end shuts it down (and closes its socket, where it has `server_close`).
    """

    def _serve_in_thread(self, server: _Serving) -> None:
        self._serving = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._serving.shutdown()
        close = getattr(self._serving, "server_close", None)
        if close is not None:
            close()


class QuietHandler(BaseHTTPRequestHandler):
    """Base of the test servers' request handlers: HTTP/1.1 (keep-alive), no request
    log on stderr, and `reply` for a whole answer."""

    protocol_version = "HTTP/1.1"

    def reply(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        """Answer `status` with `headers` (in order), `content-length` and `body`."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing: the tests check what the servers record instead."""
        return


def http_server(
    handler: type[BaseHTTPRequestHandler],
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ssl.SSLContext | None = None,
) -> ThreadingHTTPServer:
    """A threading HTTP server on `host:port` (0: a free port), HTTPS with `tls`."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    if tls is not None:  # HTTPS: a failed handshake only drops that connection
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    return server


class GrpcServed:
    """Base of a gRPC test server on a free loopback port (`port`), plaintext HTTP/2,
    serving while its `with` block runs; a subclass adds its handlers to `_grpc`."""

    def __init__(self) -> None:
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.port = self._grpc.add_insecure_port("127.0.0.1:0")

    def __enter__(self) -> Self:
        self._grpc.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._grpc.stop(grace=None)
