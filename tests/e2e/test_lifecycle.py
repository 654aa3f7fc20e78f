"""The gateway's lifecycle: delta xDS, Envoy crashes, clean shutdown (legation dying:
test_hardening_process.py — Envoy goes with it)."""

from __future__ import annotations

import os
import signal
import time

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_delta_xds_routes_and_reloads() -> None:
    with EchoUpstream("a") as a, EchoUpstream("b") as b:
        files = {"a.yaml": mapping("a", a.service, "/a/")}
        with RunningGateway(files, ["--xds-delta"]) as gw:
            assert gw.get("/a/").json()["upstream"] == "a"
            gw.write("b.yaml", mapping("b", b.service, "/b/"))
            gw.wait_status("/b/", 200)
            gw.write("a.yaml", mapping("a", b.service, "/a/"))
            poll(lambda: gw.get("/a/").json()["upstream"] == "b")
            gw.remove("b.yaml")
            gw.wait_status("/b/", 404)
            nodes = gw.overview()["nodes"]
            assert nodes and nodes[0]["stream_kind"] == "delta"


def test_envoy_crash_is_restarted_and_resynced() -> None:
    with EchoUpstream("a") as a, RunningGateway({"a.yaml": mapping("a", a.service, "/a/")}) as gw:
        pid = gw.overview()["envoy"]["pid"]
        os.kill(pid, signal.SIGKILL)
        poll(lambda: gw.overview()["envoy"]["restarts"] == 1, timeout=15)
        gw.wait_ready()
        gw.wait_status("/a/", 200, timeout=15)
        assert gw.overview()["envoy"]["pid"] != pid
        assert gw.diag("/ambassador/v0/check_alive").status_code == 200


def test_sigterm_drains_and_stops_envoy() -> None:
    with EchoUpstream("a") as a:
        gw = RunningGateway({"a.yaml": mapping("a", a.service, "/a/")}).start()
        envoy_pid = gw.overview()["envoy"]["pid"]
        started = time.monotonic()
        assert gw.stop() == 0
        assert time.monotonic() - started < 15
        poll(lambda: not _pid_alive(envoy_pid), timeout=5)
