"""Real external authorization servers for end-to-end tests: HTTP and gRPC (v3).

Both decide by the request's `x-auth` header and count what they were asked:

- `allow` (or no header): allowed, with `x-user: alice` (HTTP) / `x-user: grpc-bob`
  (gRPC) and `x-not-allowed: 1` in the answer;
- `deny`: HTTP 401 with body `no entry` and `www-authenticate: Basic realm="test"`
  (gRPC: 402 with body `pay first` and `x-deny-reason: test`);
- `forbid`: 403 with body `forbidden here`;
- `error`: HTTP 500 with body `auth broke` (a failure of the auth service itself);
- `slow`: answers only after `SLOW_SECONDS` (longer than the tests' timeouts).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from types import TracebackType
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2 as auth_pb2
from envoy.service.auth.v3 import external_auth_pb2_grpc as auth_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import status_pb2

from tests.e2e.servers import GrpcServed, QuietHandler, ServedInThread, http_server

SLOW_SECONDS = 1.5


class HttpAuthServer(ServedInThread):
    """An HTTP (or, with `tls`, HTTPS) auth server; `checks` records (method, path,
    headers, body) of each check."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.checks: list[tuple[str, str, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        server = self

        class Handler(QuietHandler):
            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._connections.discard(self.connection)
                super().finish()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.checks.append((self.command, self.path, headers, body))
                decision = headers.get("x-auth", "allow")
                if decision == "slow":
                    time.sleep(SLOW_SECONDS)
                if decision == "deny":
                    self._send(401, b"no entry", {"www-authenticate": 'Basic realm="test"'})
                elif decision == "forbid":
                    self._send(403, b"forbidden here", {})
                elif decision == "error":
                    self._send(500, b"auth broke", {})
                else:
                    self._send(200, b"", {"x-user": "alice", "x-not-allowed": "1"})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.reply(status, body, {**headers, "content-type": "text/plain"})

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

        http = http_server(Handler, tls=tls)
        self.port = int(http.server_address[1])
        self._serve_in_thread(http)

    @property
    def count(self) -> int:
        """How many checks it answered so far."""
        with self._lock:
            return len(self.checks)

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        super().__exit__(t, e, tb)
        # like a process that exits: kept-alive connections (Envoy pools them) end too
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


def _header(name: str, value: str) -> Any:
    return base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=name, value=value))


class GrpcAuthServer(GrpcServed, auth_grpc.AuthorizationServicer):
    """A gRPC `envoy.service.auth.v3.Authorization` server; `checks` records each
    CheckRequest's (headers, context_extensions)."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[tuple[dict[str, str], dict[str, str]]] = []
        auth_grpc.add_AuthorizationServicer_to_server(self, self._grpc)

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Allow, deny or stall, by the `x-auth` header."""
        headers = dict(request.attributes.request.http.headers)
        self.checks.append((headers, dict(request.attributes.context_extensions)))
        decision = headers.get("x-auth", "allow")
        if decision == "slow":
            time.sleep(SLOW_SECONDS)
        if decision == "deny":
            return auth_pb2.CheckResponse(
                status=status_pb2.Status(code=grpc.StatusCode.PERMISSION_DENIED.value[0]),
                denied_response=auth_pb2.DeniedHttpResponse(
                    status=http_status_pb2.HttpStatus(code=402),  # type: ignore[arg-type]
                    headers=[_header("x-deny-reason", "test")],
                    body="pay first",
                ),
            )
        return auth_pb2.CheckResponse(
            status=status_pb2.Status(code=0),
            ok_response=auth_pb2.OkHttpResponse(headers=[_header("x-user", "grpc-bob")]),
        )
