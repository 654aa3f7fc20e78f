"""Hardening, security findings (issue 8: 2, 13, 14, 15) through the real gateway.

- A Mapping aimed at the gateway's own control ports (diagnostics, a TCP admin or
  xDS port) is an error: it never becomes a route, other routes keep working.
- The diagnostics decide by the socket's peer, never by `X-Forwarded-For`.
- The diagnostics answer views and the log-level POST only for a `Host` naming the
  gateway, and the POST only with a same-origin `Origin`; probes answer any Host.
- A regex over Envoy's RE2 program-size limit is the Mapping's error (`check` and
  the running gateway), not a rejected route table.
- The resource page of a large document is bounded, and probes answer meanwhile.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.load import Load
from tests.netns import NetnsUnavailable, network_namespace

HOST_ADDR, PEER_ADDR = "10.200.4.1", "10.200.4.2"
VIEW = "/ambassador/v0/diag/?json=true"
LOGLEVEL = "/ambassador/v0/diag/loglevel"


def legation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "legation.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def errors_of(gw: RunningGateway, key: str) -> list[dict[str, Any]]:
    return [e for e in gw.overview()["errors"] if e["resource"] == key]


@pytest.fixture
def upstream() -> Iterator[EchoUpstream]:
    with EchoUpstream("good") as up:
        yield up


def test_mappings_to_control_ports_are_errors_and_never_routes(upstream: EchoUpstream) -> None:
    with RunningGateway(
        {"good.yaml": mapping("good", upstream.service, "/good/")}, tcp_control=True
    ) as gw:
        assert gw.admin_port is not None and gw.xds_port is not None
        targets = {
            "to-diag": f"127.0.0.1:{gw.diag_port}",
            "to-admin": f"localhost:{gw.admin_port}",
            "to-xds": f"[::1]:{gw.xds_port}",
        }
        with Load(gw.url(""), ["/good/a", "/good/b"], pause_s=0.01) as load:
            for name, service in targets.items():
                # as the finding did: also strip X-Forwarded-For on the way
                gw.write(
                    f"{name}.yaml",
                    mapping(name, service, f"/{name}/", remove_request_headers=["x-forwarded-for"]),
                )
            for name, service in targets.items():
                key = f"Mapping/{name}.default"
                (error,) = poll(lambda key=key: errors_of(gw, key), timeout=15)
                assert error["field"] == "spec.service"
                assert "control port" in error["message"] and service in error["message"]
            for name in targets:
                for path in ("/ambassador/v0/diag/?json=true", "/config_dump", "/"):
                    answer = gw.get(f"/{name}{path}", headers={"x-forwarded-for": "127.0.0.1"})
                    assert answer.status_code == 404, (name, path, answer.text[:200])
            assert gw.get("/good/still").status_code == 200
            poll(lambda: load.sent >= 20)  # the client ran across all the changes
        assert not load.failures, load.failures

        # `legation check` says the same offline, told the ports the gateway runs with
        result = legation(
            "check", "--diag-port", str(gw.diag_port), "--admin-port", str(gw.admin_port),
            "--xds-port", str(gw.xds_port), str(gw.config_dir),
        )  # fmt: skip
        assert result.returncode == 1, result.stdout + result.stderr
        for name in targets:
            assert f"Mapping/{name}.default: field spec.service:" in result.stderr
        assert "3 error(s)" in result.stderr


def test_diagnostics_decide_by_peer_not_by_forwarded_headers(upstream: EchoUpstream) -> None:
    """uvicorn would believe X-Forwarded-For from 127.0.0.1 (where Envoy is) if asked to:
    a loopback client claiming to be 8.8.8.8 is still served as loopback."""
    with RunningGateway({"good.yaml": mapping("good", upstream.service, "/good/")}) as gw:
        base = f"http://127.0.0.1:{gw.diag_port}"
        forged = {"x-forwarded-for": "8.8.8.8", "forwarded": "for=8.8.8.8", "x-real-ip": "8.8.8.8"}
        assert httpx.get(base + VIEW, headers=forged).status_code == 200
        post = httpx.post(
            base + LOGLEVEL,
            params={"level": "info", "component": "legation", "json": "true"},
            headers={**forged, "origin": base},
        )
        assert post.status_code == 200, post.text


CLIENT = """
import sys, urllib.request, urllib.error
url, method = sys.argv[1], sys.argv[2]
headers = dict(h.split(": ", 1) for h in sys.argv[3:])
req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                             headers=headers)
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
"""


def test_forged_forwarded_for_from_outside_is_not_loopback(upstream: EchoUpstream) -> None:
    """A client on another host sending `X-Forwarded-For: 127.0.0.1` is still refused."""
    try:
        netns_cm = network_namespace("sec", HOST_ADDR, PEER_ADDR)
        netns = netns_cm.__enter__()
    except NetnsUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with RunningGateway(
            {"good.yaml": mapping("good", upstream.service, "/good/")},
            extra_args=["--diag-host", "0.0.0.0"],
        ) as gw:
            base = f"http://{HOST_ADDR}:{gw.diag_port}"
            spoof = ["X-Forwarded-For: 127.0.0.1", "Forwarded: for=127.0.0.1"]

            def status(path: str, method: str = "GET", *headers: str) -> int:
                out = subprocess.run(
                    ["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT,
                     base + path, method, *spoof, *headers],
                    capture_output=True, text=True, timeout=20,
                )  # fmt: skip
                assert out.returncode == 0, out.stderr
                return int(out.stdout.strip())

            assert status(VIEW) == 403
            assert status("/ambassador/v0/diag/routes") == 403
            assert status(LOGLEVEL + "?level=debug", "POST", f"Origin: {base}") == 403
            assert status("/ambassador/v0/check_ready") == 200
    finally:
        netns_cm.__exit__(None, None, None)


def test_host_and_origin_checks(upstream: EchoUpstream) -> None:
    with RunningGateway({"good.yaml": mapping("good", upstream.service, "/good/")}) as gw:
        port = gw.diag_port
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5.0) as c:
            # DNS rebinding: the page's own name arrives as Host
            for path in (VIEW, "/ambassador/v0/diag/routes", "/ambassador/v0/diag/clusters"):
                refused = c.get(path, headers={"host": "evil.example"})
                assert refused.status_code == 421, path
                assert "evil.example" in refused.text
            evil_post = c.post(
                LOGLEVEL,
                params={"level": "debug"},
                headers={"host": f"evil.example:{port}", "origin": f"http://evil.example:{port}"},
            )
            assert evil_post.status_code == 421
            for host in (f"localhost:{port}", f"127.0.0.1:{port}", "127.0.0.1", "localhost"):
                assert c.get(VIEW, headers={"host": host}).status_code == 200, host
            # probes and metrics: any Host (the kubelet and Prometheus use the pod IP)
            for path in ("/ambassador/v0/check_alive", "/ambassador/v0/check_ready", "/metrics"):
                assert c.get(path, headers={"host": "10.9.8.7:8877"}).status_code == 200
                assert c.get(path, headers={"host": "evil.example"}).status_code == 200
            # the POST needs a same-origin Origin
            params = {"level": "debug", "component": "legation", "json": "true"}
            assert c.post(LOGLEVEL, params=params).status_code == 403
            foreign = c.post(LOGLEVEL, params=params, headers={"origin": "http://evil.example"})
            assert foreign.status_code == 403
            ok = c.post(LOGLEVEL, params=params, headers={"origin": base})
            assert ok.status_code == 200 and ok.json()["levels"]["legation"] == "debug"
        # the CLI sends a matching Origin
        result = legation("loglevel", "info", "--component", "legation", "--diag-port", str(port))
        assert result.returncode == 0, result.stderr
        assert "legation: info" in result.stdout
        assert gw.overview()["log_levels"]["legation"] == "info"


TOO_BIG = "/items/[0-9]{120}"  # RE2 program size 131 > Envoy's 100


def test_regex_over_envoys_program_size_is_the_mappings_error(
    upstream: EchoUpstream, tmp_path: Path
) -> None:
    big = mapping("big", upstream.service, TOO_BIG, prefix_regex=True)
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "big.yaml").write_text(big)
    result = legation("check", str(folder))
    assert result.returncode == 1
    assert "Mapping/big.default: field spec.prefix:" in result.stderr
    assert "RE2 program size is 131" in result.stderr

    with RunningGateway({"good.yaml": mapping("good", upstream.service, "/good/")}) as gw:
        with Load(gw.url(""), ["/good/x"], pause_s=0.01) as load:
            gw.write("big.yaml", big)
            (error,) = poll(lambda: errors_of(gw, "Mapping/big.default"), timeout=15)
            assert error["field"] == "spec.prefix"
            gw.write("next.yaml", mapping("next", upstream.service, "/next/"))
            gw.wait_status("/next/", 200, timeout=15)
            assert not gw.overview()["nacks"], "Envoy was never sent the big regex"
            assert gw.get("/items/" + "1" * 120).status_code == 404
            poll(lambda: load.sent >= 20)  # the client ran across all the changes
        assert not load.failures, load.failures


def test_resource_page_of_a_large_document_is_bounded(upstream: EchoUpstream) -> None:
    # about 1 MB, and still a configuration Envoy accepts (at most 1,000 headers to add,
    # each value under 16 kB)
    headers = {f"x-h-{i}": f"{i}-" + "v" * 1100 for i in range(900)}
    large = mapping("large", upstream.service, "/large/", add_request_headers=headers)
    with RunningGateway({"good.yaml": mapping("good", upstream.service, "/good/")}) as gw:
        gw.write("large.yaml", large)
        url = "/ambassador/v0/diag/resource/Mapping/large.default"
        poll(lambda: gw.diag(url + "?json=true").json().get("valid"), timeout=30)
        slowest = [0.0]
        stop = threading.Event()

        def probe() -> None:
            with httpx.Client(timeout=5.0) as c:
                while not stop.is_set():
                    t0 = time.monotonic()
                    c.get(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/check_alive")
                    slowest[0] = max(slowest[0], time.monotonic() - t0)
                    time.sleep(0.01)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        try:
            for _ in range(3):
                page = gw.diag(url + "?json=true")
                assert page.status_code == 200
                assert len(page.content) < 800_000 < 1_000_000 < len(large)
                assert page.json()["inputs"][0]["truncated"]
        finally:
            stop.set()
            prober.join()
        assert slowest[0] < 1.0, f"a probe waited {slowest[0]:.2f} s"
