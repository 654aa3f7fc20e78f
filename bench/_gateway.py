"""A real `legation run` (with its Envoy) as a subprocess, and a keep-alive HTTP prober."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from _common import free_port

from legation.child_process import stop_child

STOP_TIMEOUT_S = 20.0


class Prober:
    """GETs over one keep-alive connection; reconnects after any error."""

    def __init__(self, port: int, timeout: float = 2.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def status(self, path: str) -> int:
        """The status of `GET path`, or 0 when the request failed."""
        try:
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            response.read()
            return int(response.status)
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return 0

    def wait_for(
        self, path: str, status: int, start: float, timeout: float, interval: float = 0.002
    ) -> tuple[float | None, int]:
        """Poll `path` until it answers `status`.

        Returns (seconds from `start` until that answer arrived, or None on timeout;
        number of requests made). Polls every `interval` seconds at most.
        """
        polls = 0
        deadline = start + timeout
        while True:
            before = time.perf_counter()
            polls += 1
            if self.status(path) == status:
                return time.perf_counter() - start, polls
            if before >= deadline:
                return None, polls
            pause = interval - (time.perf_counter() - before)
            if pause > 0:
                time.sleep(pause)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class Gateway:
    """`legation run` on `config_dir` with free loopback ports and one Envoy worker
    (xDS and Envoy's admin on legation's default private Unix sockets).

    Use as a context manager: it starts in its own process group, and leaving the
    block stops it (SIGTERM, then SIGKILL to that group) whatever happened inside.
    """

    def __init__(self, config_dir: Path, log_path: Path, extra_args: Sequence[str] = ()) -> None:
        self.config_dir = config_dir
        self.extra_args = list(extra_args)
        self.log_path = log_path
        self.http_port, self.diag_port = free_port(), free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def source_args(self) -> list[str]:
        """Where legation reads its configuration from (a folder here)."""
        return ["--config-dir", str(self.config_dir)]

    def start(self) -> None:
        """Start the process (does not wait for readiness)."""
        args = [
            sys.executable, "-m", "legation.cli.main", "run",
            *self.source_args(),
            "--http-port", str(self.http_port), "--diag-port", str(self.diag_port),
            "--diag-host", "127.0.0.1", "--envoy-concurrency", "1", "--drain-seconds", "1",
            *self.extra_args,
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float) -> float:
        """Poll check_ready until 200; returns the seconds it took. Raises on timeout/exit."""
        start = time.perf_counter()
        probe = Prober(self.diag_port, timeout=1.0)
        try:
            while time.perf_counter() - start < timeout:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"legation exited ({self.proc.returncode}):\n{self.tail()}")
                if probe.status("/ambassador/v0/check_ready") == 200:
                    return time.perf_counter() - start
                time.sleep(0.02)
        finally:
            probe.close()
        raise RuntimeError(f"legation not ready after {timeout:.0f} s:\n{self.tail()}")

    def log(self) -> str:
        """Everything legation and Envoy printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 30) -> str:
        """The last lines of the log."""
        return "\n".join(self.log().splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM legation (it drains and stops Envoy); SIGKILL its group if it hangs."""
        proc = self.proc
        if proc is None:
            return None
        stop_child(proc, STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # an Envoy left behind, if any
        return proc.returncode

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
