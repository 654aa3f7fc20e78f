"""A tiny loopback HTTP/1.1 upstream (asyncio, in a thread) answering 200 to everything."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    b"Connection: keep-alive\r\n\r\nok\n"
)
_MAX_HEADER_BYTES = 64 * 1024


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request on one keep-alive connection (bodies are skipped)."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_HEADER_BYTES:
                break
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if length:
                await reader.readexactly(length)
            writer.write(_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class Upstream:
    """HTTP servers on `count` free loopback ports, run by an event loop in a thread.

    Use as a context manager; `ports` lists the ports once it has started.
    """

    def __init__(self, count: int = 1) -> None:
        self.count = count
        self.ports: list[int] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bench-upstream", daemon=True)
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._started.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        servers = [
            await asyncio.start_server(_serve_connection, "127.0.0.1", 0) for _ in range(self.count)
        ]
        self.ports = [int(s.sockets[0].getsockname()[1]) for s in servers]
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            for server in servers:
                server.close()
                await server.wait_closed()

    def __enter__(self) -> Upstream:
        self._thread.start()
        if not self._started.wait(10) or self._error is not None:
            raise RuntimeError(f"upstream did not start: {self._error}")
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        stop = self._stop
        if stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)
