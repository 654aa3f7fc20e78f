"""Start, supervise and stop a real Envoy process (asyncio).

Envoy dies with legation: it is started with a parent-death signal, so a legation
killed with SIGKILL leaves no orphan holding the ports for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

from legation.child_process import dying_with_us
from legation.envoy.binary import find_envoy_binary
from legation.envoy.bootstrap import bootstrap_to_json

log = logging.getLogger("legation.envoy")

BACKOFF_MIN = 0.1
"""First restart delay (seconds)."""
BACKOFF_MAX = 5.0
"""Longest restart delay (seconds)."""
_STABLE_AFTER = 10.0
"""An Envoy that ran this long resets the backoff."""
_ADMIN_TIMEOUT = 2.0
AdminAddress = int | pathlib.Path
"""Envoy's admin interface: a TCP port on 127.0.0.1, or a Unix socket path."""

Preflight = Callable[[], None]
"""Called before every start of Envoy; raises to refuse starting it (e.g. a port is
taken), with a one-line message."""


class EnvoyStartRefused(Exception):
    """The preflight check refused to (re)start Envoy; the message says why."""


class EnvoyProcess:
    """One Envoy subprocess, restarted with exponential backoff if it dies unexpectedly.

    Envoy's stdout and stderr go to this process's stderr.
    """

    def __init__(
        self,
        bootstrap: Any,
        work_dir: pathlib.Path,
        admin: AdminAddress,
        *,
        log_level: str = "warning",
        concurrency: int | None = None,
        drain_time_s: int = 5,
        extra_args: Sequence[str] = (),
        binary: pathlib.Path | None = None,
        preflight: Preflight | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare (not start) an Envoy for ``bootstrap`` (a Bootstrap message).

        The bootstrap is written to ``work_dir/envoy-bootstrap.json``; ``admin`` must be
        the admin address (port or socket path) the bootstrap configures. ``preflight``
        runs before every (re)start: when it raises, :meth:`start` raises
        EnvoyStartRefused, and the supervisor stops restarting and calls ``on_refused``
        with the message instead of crash-looping.
        """
        self.bootstrap_path = pathlib.Path(work_dir) / "envoy-bootstrap.json"
        """Where the bootstrap file is written."""
        self.admin = admin
        """Envoy's admin address: a port on 127.0.0.1 or a Unix socket path."""
        self.restarts = 0
        """How many times the supervisor restarted Envoy."""
        self._bootstrap_json = bootstrap_to_json(bootstrap)
        self._binary = binary
        self._args: list[str] = ["--disable-hot-restart", "--log-level", log_level]
        if concurrency is not None:
            self._args += ["--concurrency", str(concurrency)]
        self._args += ["--drain-time-s", str(drain_time_s), *extra_args]
        self._proc: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._preflight = preflight
        self._on_refused = on_refused

    @property
    def alive(self) -> bool:
        """True while the Envoy process is running."""
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        """The current Envoy's process id, if one was started."""
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        """Write the bootstrap, start Envoy and its supervisor."""
        if self._supervisor is not None:
            raise RuntimeError("EnvoyProcess already started")
        self.bootstrap_path.parent.mkdir(parents=True, exist_ok=True)
        self.bootstrap_path.write_text(self._bootstrap_json)
        self._stopping = False
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="envoy-supervisor")

    async def _spawn(self) -> None:
        """Start one Envoy process (after the preflight check)."""
        if self._preflight is not None:
            try:
                self._preflight()
            except Exception as exc:
                raise EnvoyStartRefused(str(exc)) from None
        binary = self._binary or find_envoy_binary()
        argv = [str(binary), "-c", str(self.bootstrap_path), *self._args]
        self._proc = await asyncio.create_subprocess_exec(
            *dying_with_us(argv), stdin=asyncio.subprocess.DEVNULL, stdout=2, stderr=2
        )
        log.info("started Envoy pid %d: %s", self._proc.pid, " ".join(argv))

    async def _supervise(self) -> None:
        """Restart Envoy whenever it exits while we are not stopping it."""
        backoff = BACKOFF_MIN
        while not self._stopping:
            proc = self._proc
            started = time.monotonic()
            if proc is not None:
                code = await proc.wait()
                if self._stopping:
                    return
                log.warning("Envoy pid %d exited with %s; restarting", proc.pid, code)
            if time.monotonic() - started > _STABLE_AFTER:
                backoff = BACKOFF_MIN
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            if self._stopping:
                return
            try:
                await self._spawn()
                self.restarts += 1
            except EnvoyStartRefused as exc:
                # restarting would only crash-loop on the same conflict
                self._proc = None
                if self._on_refused is not None:
                    self._on_refused(str(exc))
                else:
                    log.error("not restarting Envoy: %s", exc)
                return
            except Exception:
                log.exception("cannot restart Envoy")
                self._proc = None

    async def stop(
        self, drain_seconds: float, term_timeout: float = 5.0, *, serve_s: float = 0.0
    ) -> None:
        """Drain listeners, wait up to ``drain_seconds`` for connections, then terminate.

        The first ``serve_s`` seconds of the drain are waited out in full even when no
        connection is open: Envoy keeps accepting new ones meanwhile (a graceful drain
        only asks clients to close), for the load balancers that have not yet seen the
        readiness probe fail. Then SIGTERM, and SIGKILL after ``term_timeout``.
        """
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        if drain_seconds > 0:
            with contextlib.suppress(OSError, TimeoutError, ValueError):
                await self.admin_request("POST", "/drain_listeners?graceful")
            serve_s = min(serve_s, drain_seconds)
            if serve_s > 0:
                await asyncio.sleep(serve_s)
            await self._wait_connections_closed(drain_seconds - serve_s)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), term_timeout)
        except TimeoutError:
            log.warning("Envoy pid %d ignored SIGTERM; killing it", proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        log.info("Envoy pid %d stopped (%s)", proc.pid, proc.returncode)

    async def _wait_connections_closed(self, timeout: float) -> None:
        """Poll admin stats until no downstream connection is open, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive:
            try:
                status, body = await self.admin_get("/stats?filter=downstream_cx_active$")
            except (OSError, TimeoutError, ValueError):
                return
            if status != 200 or _active_connections(body) == 0:
                return
            await asyncio.sleep(0.1)

    async def wait_ready(self, timeout: float) -> None:
        """Wait until admin ``/ready`` answers 200 (server LIVE); raise TimeoutError."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                status, body = await self.admin_get("/ready")
                if status == 200:
                    return
                last = f"{status} {body.strip()}"
            except (OSError, TimeoutError, ValueError) as exc:
                last = repr(exc)
            await asyncio.sleep(0.05)
        raise TimeoutError(f"Envoy not ready after {timeout}s: {last}")

    async def admin_get(self, path: str) -> tuple[int, str]:
        """GET ``path`` from the admin interface; return (status, body)."""
        return await self.admin_request("GET", path)

    async def admin_request(self, method: str, path: str) -> tuple[int, str]:
        """Send one HTTP/1.1 request to the admin interface; return (status, body)."""
        return await asyncio.wait_for(_http_request(self.admin, method, path), _ADMIN_TIMEOUT)


def _active_connections(stats: str) -> int:
    """Sum ``listener.<address>.downstream_cx_active`` gauges (not the admin listener's,
    not the per-worker copies)."""
    total = 0
    for line in stats.splitlines():
        name, _, value = line.partition(":")
        if (
            name.startswith("listener.")
            and name.endswith(".downstream_cx_active")
            and not name.startswith("listener.admin.")
            and ".worker_" not in name
            and ".main_thread." not in name
        ):
            with contextlib.suppress(ValueError):
                total += int(value.strip())
    return total


async def _http_request(admin: AdminAddress, method: str, path: str) -> tuple[int, str]:
    """A minimal HTTP/1.1 client (Content-Length or chunked bodies) for the admin
    interface, over TCP on loopback or its Unix socket."""
    if isinstance(admin, pathlib.Path):
        reader, writer = await asyncio.open_unix_connection(str(admin))
        host = "localhost"
    else:
        reader, writer = await asyncio.open_connection("127.0.0.1", admin)
        host = f"127.0.0.1:{admin}"
    try:
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        parts = status_line.decode("latin-1").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"bad status line {status_line!r}")
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readline()).split(b";")[0].strip() or b"0", 16):
                body += await reader.readexactly(size)
                await reader.readline()
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:
            body = await reader.read()
        return int(parts[1]), body.decode("utf-8", "replace")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
