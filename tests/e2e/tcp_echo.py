"""A real TCP upstream for end-to-end tests: echoes every byte back after a tag.

An asyncio server on its own event loop in a thread, on a free loopback port. Also the
TCPMapping manifest and a plain-TCP client exchange.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from types import TracebackType
from typing import Any

from tests.e2e.gateway import manifest


def tcp_mapping(name: str, port: int, service: str, **spec: Any) -> str:
    """A getambassador.io/v3alpha1 TCPMapping as YAML text."""
    return manifest("TCPMapping", name, spec={"port": port, "service": service, **spec})


def exchange(port: int, payload: bytes, expect: int | None = None) -> bytes:
    """Connect, send `payload`, half-close, and read everything back; with `expect`,
    read that many bytes (or until the server closes) without half-closing."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        if expect is None:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while (expect is None or len(data) < expect) and (chunk := sock.recv(65536)):
            data += chunk
    return data


class TcpEcho:
    """`with TcpEcho(b"a:") as up:` — each connection gets `tag`, then its bytes echoed."""

    def __init__(self, tag: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.tag = tag
        self.tls = tls
        """Serve TLS with this context (a TLS echo server)."""
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            writer.write(self.tag)
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()

    @property
    def service(self) -> str:
        """The TCPMapping `service` value pointing at this upstream."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TcpEcho:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
