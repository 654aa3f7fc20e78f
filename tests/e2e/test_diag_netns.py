"""Diagnostics refuse clients that are not on loopback unless the Module allows them.

127.0.0.2 is still loopback, so the client lives in a network namespace of its own,
joined to this one by a veth pair with private test addresses (10.200.0.1 here,
10.200.0.2 there). Needs root and iproute2; skipped when the namespace cannot be made.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.netns import NetnsUnavailable, network_namespace

HOST_ADDR, PEER_ADDR = "10.200.0.1", "10.200.0.2"

CLIENT = """
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method=sys.argv[2], data=b"" if sys.argv[2] == "POST" else None)
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
"""


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    try:
        with network_namespace("diag", HOST_ADDR, PEER_ADDR) as name:
            yield name
    except NetnsUnavailable as exc:
        pytest.skip(str(exc))


def _status(netns: str, url: str, method: str = "GET") -> int:
    out = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", CLIENT, url, method],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip())


def _module(allow: bool) -> str:
    return (
        "apiVersion: getambassador.io/v3alpha1\nkind: Module\n"
        "metadata: {name: ambassador, namespace: default}\n"
        f"spec:\n  config:\n    diagnostics: {json.dumps({'allow_non_local': allow})}\n"
    )


def test_non_local_clients_need_allow_non_local(netns: str) -> None:
    with (
        EchoUpstream("a") as up,
        RunningGateway(
            {"a.yaml": mapping("a", up.service, "/a/")}, extra_args=["--diag-host", "0.0.0.0"]
        ) as gw,
    ):
        base = f"http://{HOST_ADDR}:{gw.diag_port}"
        assert _status(netns, f"{base}/ambassador/v0/diag/?json=true") == 403
        assert _status(netns, f"{base}/ambassador/v0/diag/routes") == 403
        assert _status(netns, f"{base}/ambassador/v0/check_ready") == 200
        assert _status(netns, f"{base}/ambassador/v0/check_alive") == 200
        assert _status(netns, f"{base}/metrics") == 200
        gw.write("module.yaml", _module(True))
        poll(lambda: _status(netns, f"{base}/ambassador/v0/diag/?json=true") == 200, timeout=15)
        assert _status(netns, f"{base}/ambassador/v0/diag/clusters") == 200
        # changing log levels stays loopback-only
        url = f"{base}/ambassador/v0/diag/loglevel?level=debug&component=legation"
        assert _status(netns, url, "POST") == 403
        gw.write("module.yaml", _module(False))
        poll(lambda: _status(netns, f"{base}/ambassador/v0/diag/?json=true") == 403, timeout=15)
        # loopback clients are always served
        assert gw.diag("/ambassador/v0/diag/?json=true").status_code == 200
