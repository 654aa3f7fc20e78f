"""`legation run --kubernetes` as a subprocess (like tests/e2e/gateway.py's RunningGateway)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.gateway import RunningGateway


class KubeGateway(RunningGateway):
    """`legation run --kubernetes --kubeconfig PATH` with every port chosen free."""

    def __init__(
        self,
        kubeconfig: Path,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env`: extra environment variables (e.g. `POD_NAME`, as the downward API sets)."""
        super().__init__(extra_args=extra_args)
        self.kubeconfig = kubeconfig
        self.env = {**os.environ, **(env or {})}

    def command(self) -> list[str]:
        """The command line."""
        return [
            sys.executable, "-m", "legation.cli.main", "run",
            "--kubernetes", "--kubeconfig", str(self.kubeconfig),
            "--http-port", str(self.http_port), "--https-port", str(self.https_port),
            "--diag-port", str(self.diag_port),
            *self.control_args(),
            "--diag-host", "127.0.0.1", "--envoy-concurrency", "1", "--drain-seconds", "1",
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> KubeGateway:
        """Start and wait until ready (Envoy ACKed the first configuration)."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env
        )
        try:
            self.wait_ready()
        except AssertionError:
            self.stop()
            raise AssertionError(f"gateway did not become ready:\n{self.log()}") from None
        return self

    def run_to_exit(self, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run expecting it to stop by itself; returns its exit code and output."""
        return subprocess.run(
            self.command(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.env,
        )

    def __enter__(self) -> KubeGateway:
        return self.start()
