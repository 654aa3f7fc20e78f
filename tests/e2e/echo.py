"""A real HTTP upstream for end-to-end tests: answers with JSON describing the request,
with a status chosen by keywords in the path (for retries, timeouts, health checks).

Runs in a thread of the test process on a free loopback port.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable

from tests.e2e.servers import QuietHandler, ServedInThread, http_server


class EchoUpstream(ServedInThread):
    """An HTTP/1.1 upstream whose answer depends on the path.

    - `.../status/<code>...`: answers `<code>`
    - `.../flaky/<key>/<n>`: 503 for the first `n` requests with that key, then 200
    - `.../slow/<ms>...`: waits `ms` milliseconds, then 200
    - `/healthz`: 200 while `healthy`, else 503
    - anything else: 200, or 500 while `failing`

    The first of these keywords in the path decides, so a Mapping prefix may precede it.

    Bodies are JSON: `{"upstream", "method", "path", "headers"}` (header names lower-cased).
    Every answer also carries `x-upstream-secret: hidden` (for header-removal tests).
    Every request is recorded in `requests` as `(method, path, headers)`; `on_request`,
    if given, is called with the path and headers before the answer (e.g. to report a span).
    Use as a context manager: it serves on `port` in a thread until the block ends.
    """

    def __init__(
        self,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        on_request: Callable[[str, dict[str, str]], None] | None = None,
    ) -> None:
        self.name = name
        self.on_request = on_request
        self.healthy = True
        self.failing = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        upstream = self

        class Handler(QuietHandler):
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with upstream._lock:
                    upstream.requests.append((self.command, self.path, headers))
                if upstream.on_request is not None:
                    upstream.on_request(self.path, headers)
                status = upstream._status(self.path)
                body = json.dumps(
                    {
                        "upstream": upstream.name,
                        "method": self.command,
                        "path": self.path,
                        "headers": headers,
                    }
                ).encode()
                sent = {"content-type": "application/json", "x-upstream-secret": "hidden"}
                self.reply(status, body, sent)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _answer

        http = http_server(Handler, host, port, tls)
        self.host = host
        self.port = int(http.server_address[1])
        self._serve_in_thread(http)

    def _status(self, path: str) -> int:
        parts = path.split("?")[0].strip("/").split("/")
        for i, word in enumerate(parts):  # the first keyword decides, wherever it is
            args = parts[i + 1 :]
            if word == "healthz":
                return 200 if self.healthy else 503
            if word == "status" and args:
                return int(args[0])
            if word == "flaky" and len(args) > 1:
                with self._lock:
                    self.attempts[args[0]] += 1
                    seen = self.attempts[args[0]]
                return 503 if seen <= int(args[1]) else 200
            if word == "slow" and args:
                time.sleep(int(args[0]) / 1000)
                return 200
        return 500 if self.failing else 200

    def paths(self) -> list[str]:
        """Paths received so far, in order (health checks excluded)."""
        with self._lock:
            return [p for _, p, _ in self.requests if p != "/healthz"]

    @property
    def service(self) -> str:
        """The Mapping `service` value pointing at this upstream."""
        return f"{self.host}:{self.port}"
