"""A background client for end-to-end tests: keeps requesting routes that must stay up."""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx


class Load(threading.Thread):
    """Sends GETs round-robin over `paths` until stopped; counts answers that are not 200.

    Bounded: it stops by itself after `limit_s` seconds, and waits `pause_s` between
    requests. Use as a context manager (`with Load(url, paths) as load:`), then assert
    on `load.sent` and `load.failures`. For HTTPS, `verify` is the client's SSL context
    and `sni` the server name sent (and the Host header); requests share one keep-alive
    connection.
    """

    def __init__(
        self,
        url: str | Callable[[], str],
        paths: list[str],
        *,
        pause_s: float = 0.0,
        limit_s: float = 120.0,
        verify: ssl.SSLContext | None = None,
        sni: str | None = None,
        keepalive: bool = True,
    ) -> None:
        """Request `url + path` for each of `paths` in turn; `url` may be a function,
        asked before each request (a load balancer picking a backend). `keepalive=False`
        opens a new connection for every request."""
        super().__init__(daemon=True)
        self.limits = httpx.Limits() if keepalive else httpx.Limits(max_keepalive_connections=0)
        self.pick = url if callable(url) else (lambda: url)
        self.paths = paths
        self.pause_s, self.limit_s = pause_s, limit_s
        self.verify, self.sni = verify, sni
        self.sent = 0
        """Requests sent so far."""
        self.failures: Counter[str] = Counter()
        """`path: status` (or exception name) of each failed request, counted."""
        self.stop_event = threading.Event()
        self.keepalive = keepalive
        self.retried = 0
        """Requests sent again after the server closed their kept-alive connection."""

    def run(self) -> None:
        """The request loop (runs in the thread)."""
        extra: dict[str, Any] = {}
        if self.sni is not None:
            extra = {"headers": {"host": self.sni}, "extensions": {"sni_hostname": self.sni}}
        with httpx.Client(timeout=5.0, verify=self.verify or True, limits=self.limits) as client:
            deadline = time.monotonic() + self.limit_s
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                for path in self.paths:
                    try:
                        status = self._get(client, path, extra)
                    except httpx.HTTPError as exc:
                        status = 0
                        self.failures[f"{path}: {type(exc).__name__}"] += 1
                    self.sent += 1
                    if status not in (200, 0):
                        self.failures[f"{path}: {status}"] += 1
                    if self.pause_s:
                        self.stop_event.wait(self.pause_s)

    def _get(self, client: httpx.Client, path: str, extra: dict[str, Any]) -> int:
        """One GET. A kept-alive connection that the server closed before answering
        (Envoy closing drained connections after a listener change) is retried once
        on a new connection, as HTTP clients do for idempotent requests (RFC 9110
        9.2.2); such retries are counted in `retried`, never hidden."""
        try:
            return client.get(self.pick() + path, **extra).status_code
        except httpx.RemoteProtocolError:
            if not self.keepalive:
                raise
            self.retried += 1
            return client.get(self.pick() + path, **extra).status_code

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self.stop_event.set()
        self.join()

    def __enter__(self) -> Load:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
