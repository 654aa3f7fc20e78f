"""Run the real `legation run` command (and its Envoy) for end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from legation.child_process import stop_child
from tests.e2e.helpers import free_port

T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except httpx.HTTPError as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last error: {last_error})")


class RunningGateway:
    """`legation run` on a temporary config folder, with every port chosen free.

    Envoy's admin and xDS use legation's defaults (Unix sockets in the private run
    directory `run_dir`); reach the admin with `admin()`. `tcp_control=True` puts
    both on loopback TCP ports (`admin_port`, `xds_port`) instead.

    Use as a context manager; files are written with `write()` (atomically, as an
    editor or `kubectl cp` would) and removed with `remove()`.
    """

    def __init__(
        self,
        files: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
        *,
        tcp_control: bool = False,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="legation-e2e-")
        self.config_dir = Path(self._tmp.name) / "config"
        self.config_dir.mkdir()
        self.log_path = Path(self._tmp.name) / "legation.log"
        self.run_dir = Path(self._tmp.name) / "run"
        self.http_port, self.diag_port = free_port(), free_port()
        self.https_port = free_port()
        self.admin_port: int | None = free_port() if tcp_control else None
        self.xds_port: int | None = free_port() if tcp_control else None
        for name, text in (files or {}).items():
            self.write(name, text)
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(timeout=5.0)

    # --- files --------------------------------------------------------------------
    def write(self, name: str, text: str) -> float:
        """Write a config file atomically; returns the time just after the rename."""
        path = self.config_dir / name
        tmp = path.with_name("." + path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        return time.monotonic()

    def remove(self, name: str) -> float:
        """Delete a config file; returns the time just after."""
        (self.config_dir / name).unlink()
        return time.monotonic()

    # --- requests -----------------------------------------------------------------
    def url(self, path: str) -> str:
        """URL of `path` on the gateway's HTTP listener."""
        return f"http://127.0.0.1:{self.http_port}{path}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """A GET through the gateway."""
        return self.client.get(self.url(path), **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any request through the gateway."""
        return self.client.request(method, self.url(path), **kwargs)

    def diag(self, path: str = "/ambassador/v0/diag/") -> httpx.Response:
        """A request to the diagnostics port."""
        return self.client.get(f"http://127.0.0.1:{self.diag_port}{path}")

    def admin(self, path: str, method: str = "GET") -> httpx.Response:
        """A request to Envoy's admin interface (its Unix socket, or its TCP port)."""
        if self.admin_port is not None:
            return self.client.request(method, f"http://127.0.0.1:{self.admin_port}{path}")
        transport = httpx.HTTPTransport(uds=str(self.run_dir / "admin.sock"))
        with httpx.Client(transport=transport, timeout=5.0) as client:
            return client.request(method, f"http://localhost{path}")

    def overview(self) -> dict[str, Any]:
        """The diagnostics overview JSON."""
        data: dict[str, Any] = self.diag("/ambassador/v0/diag/?json=true").json()
        return data

    def error_lines(self) -> list[str]:
        """The overview's errors, one `resource field message` line each."""
        return [f"{e['resource']} {e['field']} {e['message']}" for e in self.overview()["errors"]]

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until check_ready answers 200 (Envoy ACKed the configuration)."""
        poll(lambda: self.diag("/ambassador/v0/check_ready").status_code == 200, timeout)

    def wait_status(self, path: str, status: int, timeout: float = 10.0, **kwargs: Any) -> float:
        """Poll `path` until it answers `status`; returns the time it first did."""

        def check() -> float | None:
            return time.monotonic() if self.get(path, **kwargs).status_code == status else None

        try:
            return poll(check, timeout, interval=0.005)
        except AssertionError as exc:
            tail = "\n".join(self.log().splitlines()[-40:])
            raise AssertionError(f"{path} never answered {status}: {exc}\n{tail}") from None

    def log(self) -> str:
        """Everything legation (and Envoy) printed so far."""
        return self.log_path.read_text(errors="replace")

    # --- lifecycle ----------------------------------------------------------------
    def control_args(self) -> list[str]:
        """Flags for the run dir, and the TCP ports of admin and xDS when asked for."""
        control = ["--run-dir", str(self.run_dir)]
        if self.admin_port is not None:
            control += ["--admin-port", str(self.admin_port)]
        if self.xds_port is not None:
            control += ["--xds-port", str(self.xds_port)]
        return control

    def args(self) -> list[str]:
        """The `legation run` command line."""
        control = self.control_args()
        return [
            sys.executable, "-m", "legation.cli.main", "run",
            "--config-dir", str(self.config_dir),
            "--http-port", str(self.http_port), "--https-port", str(self.https_port),
            "--diag-port", str(self.diag_port),
            *control,
            "--diag-host", "127.0.0.1", "--envoy-concurrency", "1", "--drain-seconds", "1",
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> RunningGateway:
        """Start `legation run` and wait until it is ready."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT)
        try:
            self.wait_ready()
        except AssertionError:
            self.stop()
            raise AssertionError(f"gateway did not become ready:\n{self.log()}") from None
        return self

    def stop(self) -> int:
        """SIGTERM legation; returns its exit code."""
        self.client.close()
        if self.proc is None:
            return 0
        return stop_child(self.proc, 20)

    def __enter__(self) -> RunningGateway:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._tmp.cleanup()


def legation_check(folder: Path) -> tuple[int, str]:
    """`legation check folder`: its exit status and its output (stdout, then stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "legation.cli.main", "check", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


AMBASSADOR_API = "getambassador.io/v3alpha1"


def manifest(
    kind: str,
    name: str,
    *,
    api_version: str = AMBASSADOR_API,
    sort_keys: bool = False,
    **fields: Any,
) -> str:
    """One resource in namespace `default` as a YAML document, `---` first: `apiVersion`,
    `kind`, `metadata`, then `fields` in order (`spec=...`, or `type=...`, `data=...`)."""
    import yaml

    doc = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        **fields,
    }
    return "---\n" + yaml.safe_dump(doc, sort_keys=sort_keys)


def mapping(name: str, service: str, prefix: str, **spec: Any) -> str:
    """A getambassador.io/v3alpha1 Mapping as YAML text."""
    return manifest("Mapping", name, spec={"prefix": prefix, "service": service, **spec})
