"""Helpers shared by end-to-end tests: free ports, a tiny upstream, polling, HTTP GET."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

T = TypeVar("T")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Upstream:
    """A tiny HTTP/1.1 server on loopback answering every request with ``<name> <path>``.

    Use as ``async with Upstream("a") as up: ... up.port``. Keep-alive is supported so
    Envoy can reuse connections; ``requests`` counts requests served.
    """

    def __init__(self, name: str) -> None:
        """Answer with ``name`` as the first word of each body."""
        self.name = name
        self.port = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Upstream:
        """Start listening on a free loopback port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop listening and close client connections."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        self._writers.add(writer)
        try:
            while request_line := await reader.readline():
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, _, value = line.decode("latin-1").partition(":")
                    if key.strip().lower() == "content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                path = request_line.decode("latin-1").split(" ")[1]
                body = f"{self.name} {path}".encode()
                self.requests += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, IndexError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Await ``probe()`` until it returns a truthy value (returned) or ``timeout`` passes.

    Exceptions raised by ``probe`` count as "not yet"; on timeout, AssertionError names
    ``what`` and the last value or exception seen.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = await probe()
            if value:
                return value
            last = value
        except Exception as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


async def http_get(port: int, path: str = "/", timeout: float = 2.0) -> tuple[int, str]:
    """GET ``http://127.0.0.1:<port><path>`` (no proxy, new connection); (status, body)."""
    async with httpx.AsyncClient(trust_env=False, timeout=timeout) as client:
        response = await client.get(f"http://127.0.0.1:{port}{path}")
        return response.status_code, response.text


async def body_of(port: int, path: str = "/") -> str | None:
    """Return the body of a 200 answer to GET ``path``, or None for any other outcome."""
    try:
        status, body = await http_get(port, path)
    except httpx.HTTPError:
        return None
    return body if status == 200 else None


async def wait_for_body(port: int, path: str, expected: str, timeout: float = 10.0) -> None:
    """Poll GET ``path`` until it answers 200 with exactly ``expected`` as the body."""

    async def probe() -> bool:
        return await body_of(port, path) == expected

    await wait_until(probe, timeout, what=f"GET {path} -> {expected!r}")


class Load:
    """Background GETs on one keep-alive connection while a change happens.

    ``async with Load(port, "/x") as load: ...`` then inspect ``load.statuses`` (status
    code, or 0 for a transport error, per request, in order) and ``load.bodies``.
    """

    def __init__(self, port: int, path: str = "/") -> None:
        """Send GET ``path`` to ``127.0.0.1:port`` back to back until the block exits."""
        self.port = port
        self.path = path
        self.statuses: list[int] = []
        self.bodies: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Load:
        """Start sending."""
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop sending."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Request in a loop; a transport error counts as status 0."""
        async with httpx.AsyncClient(trust_env=False, timeout=2.0) as client:
            while True:
                try:
                    response = await client.get(f"http://127.0.0.1:{self.port}{self.path}")
                    self.statuses.append(response.status_code)
                    self.bodies.append(response.text)
                except httpx.HTTPError:
                    self.statuses.append(0)
                    await asyncio.sleep(0.01)

    @property
    def failures(self) -> int:
        """How many requests did not answer 200."""
        return sum(1 for status in self.statuses if status != 200)
