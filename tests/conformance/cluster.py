"""The conformance run's surroundings: the API server objects and the running gateway."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.e2e.helpers import free_port
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.manifests import Discovery, apply

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float, interval: float = 0.05) -> T | None:
    """`check()` until it returns something truthy; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


class Cluster:
    """Admin access to the API server, by manifest."""

    def __init__(self, server: KubeApiServer) -> None:
        self.server = server
        self.api = server.client()
        self.discovery = Discovery(self.api)

    def put(self, doc: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create or update one object (server-side apply); returns it as stored."""
        r = apply(self.api, self.discovery, doc, namespace=namespace)
        if not r.is_success:
            raise RuntimeError(f"{doc['kind']}/{doc['metadata']['name']}: {r.text}")
        stored: dict[str, Any] = r.json()
        return stored

    def get(self, doc: dict[str, Any], namespace: str | None = None) -> dict[str, Any] | None:
        """The object as stored now, or None."""
        r = self.api.get(self.discovery.path(doc, namespace))
        return r.json() if r.is_success else None  # type: ignore[no-any-return]

    def delete(self, doc: dict[str, Any], namespace: str | None = None) -> None:
        """Delete one object (missing is fine)."""
        self.api.delete(self.discovery.path(doc, namespace))

    def close(self) -> None:
        """Close the HTTP client."""
        self.api.close()


class Gateway:
    """`legation run --kubernetes` against the API server, every port chosen free."""

    def __init__(self, kubeconfig: Path, log_path: Path) -> None:
        self.http_port, self.diag_port = free_port(), free_port()
        self.admin_port, self.xds_port = free_port(), free_port()
        self.https_port = free_port()
        """legation's HTTPS port (Ingress spec.tls)."""
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(timeout=5.0)

    def start(self, timeout: float = 60.0) -> Gateway:
        """Start legation and wait until Envoy is ready."""
        args = [
            sys.executable, "-m", "legation.cli.main", "run",
            "--kubernetes", "--kubeconfig", str(self.kubeconfig),
            "--http-port", str(self.http_port), "--https-port", str(self.https_port),
            "--diag-port", str(self.diag_port), "--admin-port", str(self.admin_port), "--xds-port", str(self.xds_port),
            "--diag-host", "127.0.0.1", "--envoy-concurrency", "1", "--drain-seconds", "1",
            "--no-kubernetes-events",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT
        )
        ready = wait_for(
            lambda: (
                self.proc is not None
                and self.proc.poll() is None
                and self.client.get(self.diag_url("/ambassador/v0/check_ready")).status_code == 200
            ),
            timeout,
        )
        if not ready:
            self.stop()
            raise RuntimeError(f"legation did not become ready:\n{self.log_path.read_text()}")
        return self

    def diag_url(self, path: str) -> str:
        """A URL on the diagnostics port."""
        return f"http://127.0.0.1:{self.diag_port}{path}"

    def envoy_has(self, text: str) -> bool:
        """Whether Envoy's running configuration mentions `text` (e.g. a Mapping key)."""
        r = self.client.get(f"http://127.0.0.1:{self.admin_port}/config_dump")
        return text in r.text

    def envoy_clusters(self) -> str:
        """Envoy's /clusters listing (cluster::host:port::stat lines)."""
        return self.client.get(f"http://127.0.0.1:{self.admin_port}/clusters").text

    def stop(self) -> None:
        """SIGTERM legation and wait for it."""
        self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
