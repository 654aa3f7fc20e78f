"""The conformance suite's echo "pods", served from inside a network namespace.

Run as `ip netns exec NS python podhost.py ADDRESS`. Reads one JSON command per line
on stdin and answers one JSON line on stdout:
- `{"op": "start", "who": {...}}` → `{"port": N}`: a new echo server on ADDRESS:N that
  answers like the upstream conformance echo server (the request it got, and `who`);
- `{"op": "stop", "port": N}` → `{"stopped": N}`.
Ends when stdin closes.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def echo_server(address: str, who: dict[str, str]) -> ThreadingHTTPServer:
    """An HTTP server on `address` (free port) describing each request it gets."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            headers: dict[str, list[str]] = {}
            for key, value in self.headers.items():
                headers.setdefault(key.title(), []).append(value)
            body = json.dumps(
                {
                    "path": self.path,
                    "host": self.headers.get("host", ""),
                    "method": self.command,
                    "proto": self.request_version,
                    "headers": headers,
                    **who,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((address, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    """Serve commands until stdin closes."""
    address = sys.argv[1]
    servers: dict[int, ThreadingHTTPServer] = {}
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "start":
            server = echo_server(address, command["who"])
            port = int(server.server_address[1])
            servers[port] = server
            print(json.dumps({"port": port}), flush=True)
        elif command["op"] == "stop":
            server = servers.pop(int(command["port"]))
            server.shutdown()
            server.server_close()
            print(json.dumps({"stopped": command["port"]}), flush=True)
    for server in servers.values():
        server.shutdown()


if __name__ == "__main__":
    main()
