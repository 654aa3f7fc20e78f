"""Run the bundled limiter for one machine: a Redis and an envoyproxy/ratelimit.

Both are real programs started as children that die with legation. The limiter reads
its configuration from files (``CONFIG_TYPE=FILE``) under ``<data>/runtime/ratelimit/
config/``, which legation writes atomically; it reloads on change. Redis keeps nothing
on disk (counters live for one window, so persistence buys nothing).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from legation.child_process import dying_with_us, stop_child
from legation.ratelimit.binaries import find_ratelimit, find_redis_server

log = logging.getLogger("legation.ratelimit")

START_TIMEOUT_S = 15.0
"""How long each program may take to answer its health check."""


@dataclass(frozen=True)
class LimiterPorts:
    """The loopback ports of the bundled limiter (0: pick a free one)."""

    grpc: int = 0
    http: int = 0
    debug: int = 0
    redis: int = 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _resolved(ports: LimiterPorts) -> LimiterPorts:
    chosen = (p or free_port() for p in (ports.grpc, ports.http, ports.debug, ports.redis))
    return LimiterPorts(*chosen)


def redis_argv(binary: Path, port: int, data_dir: Path) -> list[str]:
    """redis-server on loopback only, with no persistence and no protected-mode surprises."""
    return [
        str(binary), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
    ]  # fmt: skip


def ratelimit_env(ports: LimiterPorts, redis_url: str, runtime_root: Path) -> dict[str, str]:
    """The limiter's environment: Redis over TCP, configuration files, statsd off."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOST": "127.0.0.1",
        "GRPC_HOST": "127.0.0.1",
        "DEBUG_HOST": "127.0.0.1",
        "PORT": str(ports.http),
        "GRPC_PORT": str(ports.grpc),
        "DEBUG_PORT": str(ports.debug),
        "REDIS_SOCKET_TYPE": "tcp",
        "REDIS_URL": redis_url,
        # concurrent decisions' Redis writes are buffered for 150 us and flushed in one
        # write: without it every decision is its own write and read, and the limiter
        # tops out at a third of the decisions/s (bench/ratelimit_bench.py)
        "REDIS_PIPELINE_WINDOW": "150us",
        "USE_STATSD": "false",
        # with statsd off the stats would go to a debug log line per request
        "DISABLE_STATS": "true",
        "LOG_LEVEL": "warn",
        "CONFIG_TYPE": "FILE",
        "RUNTIME_ROOT": str(runtime_root),
        "RUNTIME_SUBDIRECTORY": "ratelimit",
        # watch the config folder itself: legation replaces files there by rename
        "RUNTIME_WATCH_ROOT": "false",
        "RUNTIME_IGNOREDOTFILES": "true",
        "FORCE_START_WITHOUT_INITIAL_CONFIG": "true",
    }


def _wait(what: str, probe: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    """Poll ``probe`` until it is true; raise if the process exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting")
        with contextlib.suppress(OSError):
            if probe():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not become healthy within {START_TIMEOUT_S:g} s")


def redis_answers(host: str, port: int) -> bool:
    """True when a Redis at host:port answers PING."""
    with socket.create_connection((host, port), timeout=1.0) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")


def limiter_healthy(http_port: int) -> bool:
    """True when the limiter's `/healthcheck` answers 200 (it checks Redis too)."""
    url = f"http://127.0.0.1:{http_port}/healthcheck"
    with urllib.request.urlopen(url, timeout=1.0) as answer:
        return int(answer.status) == 200


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by rename, so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class BundledLimiter:
    """A Redis (unless ``redis_url`` names one) and an envoyproxy/ratelimit on loopback.

    ``data_dir`` holds the limiter's configuration files and the programs' logs.
    """

    def __init__(
        self, data_dir: Path, ports: LimiterPorts = LimiterPorts(), redis_url: str | None = None
    ) -> None:
        """Prepare (not start) the limiter; ports left 0 are picked when it starts."""
        self.data_dir = data_dir
        self.ports = ports
        self.redis_url = redis_url
        self._own_redis = redis_url is None
        """Redis is ours to start (and to start again)."""
        self._children: list[subprocess.Popen[bytes]] = []
        self._names: list[str] = []

    @property
    def config_dir(self) -> Path:
        """The folder whose ``*.yaml`` files the limiter loads (one per domain)."""
        return self.data_dir / "runtime" / "ratelimit" / "config"

    def _spawn(
        self, argv: list[str], env: dict[str, str] | None, name: str
    ) -> subprocess.Popen[bytes]:
        logfile = (self.data_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            dying_with_us(argv), env=env, stdin=subprocess.DEVNULL, stdout=logfile,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        logfile.close()
        self._children.append(proc)
        self._names.append(name)
        log.info("started %s pid %d", name, proc.pid)
        return proc

    def start(self) -> None:
        """Start Redis (if bundled) and the limiter; wait until both are healthy."""
        self.ports = _resolved(self.ports)
        self.config_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self._own_redis:
                redis_dir = self.data_dir / "redis"
                redis_dir.mkdir(exist_ok=True)
                argv = redis_argv(find_redis_server(), self.ports.redis, redis_dir)
                proc = self._spawn(argv, None, "redis")
                _wait("redis-server", lambda: redis_answers("127.0.0.1", self.ports.redis), proc)
                self.redis_url = f"127.0.0.1:{self.ports.redis}"
            redis_url = self.redis_url or f"127.0.0.1:{self.ports.redis}"
            env = ratelimit_env(self.ports, redis_url, self.data_dir / "runtime")
            proc = self._spawn([str(find_ratelimit())], env, "ratelimit")
            _wait("the rate limiter", lambda: limiter_healthy(self.ports.http), proc)
        except BaseException:
            self.stop()
            raise

    def pids(self) -> dict[str, int]:
        """The running children's process ids, by name (`redis`, `ratelimit`)."""
        return {
            name: proc.pid
            for name, proc in zip(self._names, self._children, strict=True)
            if proc.poll() is None
        }

    def exited(self) -> bool:
        """True when a child started by `start` has exited since."""
        return any(proc.poll() is not None for proc in self._children)

    def healthy(self) -> bool:
        """True when the limiter answers its health check right now."""
        try:
            return limiter_healthy(self.ports.http)
        except OSError:
            return False

    def write_config(self, domain: str, text: str) -> None:
        """Install one domain's limiter configuration (YAML); the limiter reloads it."""
        write_atomically(self.config_dir / f"{domain}.yaml", text)

    def stop(self) -> None:
        """Stop the limiter, then Redis."""
        for proc in reversed(self._children):
            stop_child(proc, 5.0)
        self._children.clear()
        self._names.clear()

    def __enter__(self) -> BundledLimiter:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
