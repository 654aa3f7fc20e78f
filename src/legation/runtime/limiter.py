"""The rate limiter at run time: the bundled one's life and files, and whether the
RateLimitService in use answers at all.

I/O only; what to write comes from the IR (`Gateway.ratelimit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from legation.compile.ratelimit import BUNDLED
from legation.ir.errors import ConfigProblem
from legation.ir.ratelimit import LimiterDocument, RateLimitService
from legation.model.resource import Resource
from legation.ratelimit.limiter_config import config_file_name
from legation.ratelimit.services import BundledLimiter, LimiterPorts, free_port, write_atomically

log = logging.getLogger("legation.ratelimit")

PROBE_TIMEOUT_S = 0.5
"""How long a connection attempt to the limiter may take before it counts as down."""

GENERATED_GLOB = "domain-*.yaml"
"""The files legation writes into the limiter's folder (others are left alone)."""


def limiter_answers(service: RateLimitService) -> str | None:
    """None when a TCP connection to the limiter opens; else why it does not."""
    address = (service.cluster.host, service.cluster.port)
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT_S):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def service_address(service: RateLimitService) -> str:
    """`host:port` of the limiter."""
    return f"{service.cluster.host}:{service.cluster.port}"


def unreachable_problem(
    service: RateLimitService, resources: Sequence[Resource[Any]], reason: str
) -> ConfigProblem | None:
    """An error on the RateLimitService whose limiter does not accept connections
    (`reason`, from `limiter_answers`); None for the bundled one (it is logged)."""
    outcome = "requests get 500" if service.failure_mode_deny else "requests pass unlimited"
    message = (
        f"the limiter at {service_address(service)} does not answer "
        f"({reason}); {outcome} (failure_mode_deny: {str(service.failure_mode_deny).lower()})"
    )
    res = next((r for r in resources if r.key == service.source), None)
    if res is None:
        if service.source == BUNDLED:
            log.error("the bundled rate limiter: %s", message)
        return None
    return res.problem("service", message)


def write_documents(folder: Path, documents: Sequence[LimiterDocument]) -> bool:
    """Make `folder` hold exactly these documents (one file per domain, each replaced
    atomically, files of removed domains deleted); True if anything changed."""
    wanted = {config_file_name(d.domain): d.text for d in documents}
    changed = False
    for name, text in wanted.items():
        path = folder / name
        with contextlib.suppress(OSError):
            if path.read_text() == text:
                continue
        write_atomically(path, text)
        changed = True
    for stale in folder.glob(GENERATED_GLOB):
        if stale.name not in wanted:
            stale.unlink(missing_ok=True)
            changed = True
    return changed


class LimiterRuntime:
    """`legation run --rate-limiter`: a BundledLimiter under the run directory, its
    gRPC port chosen now (so compile can point the default RateLimitService at it)."""

    def __init__(self, redis_url: str | None = None) -> None:
        """Choose the gRPC port; nothing starts until `start`."""
        self.grpc_port = free_port()
        self.redis_url = redis_url
        self.limiter: BundledLimiter | None = None

    @property
    def address(self) -> str:
        """`host:port` of the limiter's gRPC service."""
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, run_dir: Path) -> None:
        """Start Redis (unless `redis_url`) and the limiter; data in `<run_dir>/ratelimit`."""
        data = run_dir / "ratelimit"
        data.mkdir(mode=0o700, exist_ok=True)
        self.limiter = BundledLimiter(data, LimiterPorts(grpc=self.grpc_port), self.redis_url)
        self.limiter.start()
        ports = self.limiter.ports
        log.info(
            "rate limiter on 127.0.0.1:%d (gRPC), health on :%d, Redis %s; data in %s",
            ports.grpc, ports.http, self.limiter.redis_url, data,
        )  # fmt: skip

    def restart_if_exited(self) -> bool:
        """Start Redis and the limiter again (same ports) when one of them has exited;
        True if it did. The limiter re-reads its files; Redis starts empty."""
        limiter = self.limiter
        if limiter is None or not limiter.exited():
            return False
        log.error("the bundled rate limiter (or its Redis) exited; starting it again")
        limiter.stop()
        limiter.start()
        return True

    def write(self, documents: Sequence[LimiterDocument]) -> None:
        """Install the RateLimits' documents (the limiter reloads them by itself)."""
        if self.limiter is not None and write_documents(self.limiter.config_dir, documents):
            log.info("rate limiter: %d domain(s) written", len(documents))

    def health(self) -> dict[str, Any]:
        """The bundled limiter's state for the diagnostics."""
        limiter = self.limiter
        if limiter is None:
            return {"bundled": True, "running": False}
        ports = limiter.ports
        return {
            "bundled": True,
            "healthy": limiter.healthy(),
            "pids": limiter.pids(),
            "grpc": f"127.0.0.1:{ports.grpc}",
            "health": f"http://127.0.0.1:{ports.http}/healthcheck",
            "redis": limiter.redis_url,
            "config_dir": str(limiter.config_dir),
        }

    def stop(self) -> None:
        """Stop the limiter and Redis."""
        if self.limiter is not None:
            self.limiter.stop()


class LimiterMonitor:
    """Whether the limiter in use answers, probed beside the builds (never in one: a
    slow DNS answer must not hold up a build), and what the diagnostics show of it."""

    def __init__(self, bundled: LimiterRuntime | None) -> None:
        """`bundled`: the limiter `--rate-limiter` started, if any."""
        self.bundled = bundled
        self._state: tuple[str, str | None] | None = None
        """(address, why it does not answer or None) of the limiter last probed."""

    def probe(self, service: RateLimitService) -> bool:
        """Probe now (blocking); True when the answer differs from the last one."""
        state = (service_address(service), limiter_answers(service))
        changed = state != self._state
        self._state = state
        return changed

    def reason(self, service: RateLimitService) -> str | None:
        """Why `service` did not answer when last probed (None: it did, or not probed)."""
        state = self._state
        return state[1] if state is not None and state[0] == service_address(service) else None

    def problems(
        self, service: RateLimitService | None, resources: Sequence[Resource[Any]]
    ) -> tuple[ConfigProblem, ...]:
        """The error on the RateLimitService whose limiter did not answer, if any."""
        reason = self.reason(service) if service is not None else None
        if service is None or reason is None:
            return ()
        problem = unreachable_problem(service, resources, reason)
        return (problem,) if problem is not None else ()

    async def watch(
        self,
        service: Callable[[], RateLimitService | None],
        changed: Callable[[], Awaitable[None]],
        interval_s: float,
    ) -> None:
        """Forever: restart the bundled limiter if a child exited, probe the limiter in
        use (`service()`), and await `changed()` when its answer differs."""
        while True:
            if self.bundled is not None:
                try:
                    await asyncio.to_thread(self.bundled.restart_if_exited)
                except (OSError, RuntimeError) as exc:  # tried again at the next round
                    log.error("cannot restart the rate limiter: %s", exc)
            current = service()
            if current is not None and await asyncio.to_thread(self.probe, current):
                await changed()
            await asyncio.sleep(interval_s)

    def view(self, service: RateLimitService | None) -> dict[str, Any]:
        """The limiter in use and, for the bundled one, its health."""
        data: dict[str, Any] = self.bundled.health() if self.bundled else {"bundled": False}
        if service is not None:
            probed = self._state is not None and self._state[0] == service_address(service)
            data["service"] = {
                "source": service.source,
                "address": service_address(service),
                "domain": service.domain,
                "failure_mode_deny": service.failure_mode_deny,
                "timeout_ms": service.timeout_ms,
                "answers": self.reason(service) is None if probed else None,
            }
        return data
