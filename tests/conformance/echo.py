"""The conformance suite's echo pods, on a test host of our own.

The API server refuses loopback addresses in EndpointSlices, so the pods live in a
network namespace joined to this one by a veth pair (tests/netns.py): their address
`POD_ADDRESS` is that namespace's, and traffic to it never leaves this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from tests.netns import network_namespace

HOST_ADDRESS = "10.203.0.1"
"""This namespace's end of the veth pair."""
POD_ADDRESS = "10.203.0.2"
"""Where the echo pods listen: the pod namespace's end of the veth pair."""


class PodHost:
    """The pod namespace and the process in it that serves echo pods on demand."""

    def __init__(self) -> None:
        self._netns = network_namespace("pods", HOST_ADDRESS, POD_ADDRESS)
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> PodHost:
        name = self._netns.__enter__()
        script = Path(__file__).with_name("podhost.py")
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, str(script), POD_ADDRESS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        return self

    def _call(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._proc is not None
        stdin: IO[str] | None = self._proc.stdin
        stdout: IO[str] | None = self._proc.stdout
        assert stdin is not None and stdout is not None
        with self._lock:
            stdin.write(json.dumps(command) + "\n")
            stdin.flush()
            line = stdout.readline()
        if not line:
            raise RuntimeError("the pod host process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def start(self, who: dict[str, str]) -> int:
        """A new echo pod answering as `who`; returns its port on `POD_ADDRESS`."""
        return int(self._call({"op": "start", "who": who})["port"])

    def stop(self, port: int) -> None:
        """Stop the pod on `port`."""
        self._call({"op": "stop", "port": port})

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._netns.__exit__(t, e, tb)


class EchoPod:
    """One pod of a backend Service, serving on `port` of `POD_ADDRESS` until `stop()`."""

    def __init__(self, host: PodHost, namespace: str, ingress: str, service: str, pod: str) -> None:
        who = {"namespace": namespace, "ingress": ingress, "service": service, "pod": pod}
        self._host = host
        self.name = pod
        self.port = host.start(who)

    def stop(self) -> None:
        """Stop serving."""
        self._host.stop(self.port)
