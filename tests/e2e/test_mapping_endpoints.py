"""Load balancing, outlier detection and health checks over several endpoints.

A cluster of several endpoints needs endpoint routing: the Mappings use the
KubernetesEndpointResolver, and an EndpointSlice lists three loopback addresses
(127.0.0.1-3) sharing one port, each served by its own upstream.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


def _shared_port() -> int:
    """A port free on all three loopback addresses."""
    for _ in range(20):
        probe = socket.socket()
        probe.bind((HOSTS[0], 0))
        port = int(probe.getsockname()[1])
        probe.close()
        try:
            for host in HOSTS[1:]:
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every loopback address")


@pytest.fixture(scope="module")
def pool() -> Iterator[list[EchoUpstream]]:
    port = _shared_port()
    servers = [EchoUpstream(f"ep{i}", host, port) for i, host in enumerate(HOSTS)]
    for s in servers:
        s.__enter__()
    yield servers
    for s in servers:
        s.__exit__(None, None, None)


def _slice(name: str, port: int) -> str:
    doc = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-1",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port}],
        "endpoints": [{"addresses": [h], "conditions": {"ready": True}} for h in HOSTS],
    }
    return "---\n" + yaml.safe_dump(doc)


RESOLVER = "---\n" + yaml.safe_dump(
    {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "KubernetesEndpointResolver",
        "metadata": {"name": "endpoint", "namespace": "default"},
    }
)


@pytest.fixture(scope="module")
def gw(pool: list[EchoUpstream]) -> Iterator[RunningGateway]:
    port = pool[0].port
    fast = {"interval": "200ms", "timeout": "200ms", "unhealthy_threshold": 1,
            "healthy_threshold": 1}  # fmt: skip
    text = RESOLVER + "".join(
        [
            _slice("sticky", port),
            mapping("sticky", f"sticky:{port}", "/sticky/", resolver="endpoint",
                    load_balancer={"policy": "ring_hash",
                                   "cookie": {"name": "session", "ttl": "60s"}}),
            _slice("header", port),
            mapping("header", f"header:{port}", "/header/", resolver="endpoint",
                    load_balancer={"policy": "maglev", "header": "x-user"}),
            _slice("spread", port),
            mapping("spread", f"spread:{port}", "/spread/", resolver="endpoint"),
            _slice("outlier", port),
            mapping("outlier", f"outlier:{port}", "/outlier/", resolver="endpoint",
                    stats_name="multi-outlier",
                    outlier_detection={"consecutive_5xx": 2, "base_ejection_time": "30s",
                                       "max_ejection_percent": 50}),
            _slice("checked", port),
            mapping("checked", f"checked:{port}", "/checked/", resolver="endpoint",
                    health_checks=[{"health_check": {"http": {"path": "/healthz"}}, **fast}]),
        ]
    )  # fmt: skip
    with RunningGateway({"pool.yaml": text}) as gateway:
        yield gateway


def flags(gw: RunningGateway, service: str, host: str) -> str:
    """Health flags of one endpoint of the EDS cluster of `service`, from admin /clusters."""
    text = gw.admin("/clusters").text
    for line in text.splitlines():
        if (
            line.startswith(f"eds_{service}_")
            and f"::{host}:" in line
            and "::health_flags::" in line
        ):
            return line.rsplit("::", 1)[1]
    return ""


def who_with_cookie(gw: RunningGateway, value: str) -> str:
    """Which endpoint answers a request carrying `session=<value>` (no cookie jar)."""
    response = httpx.get(gw.url("/sticky/x"), headers={"cookie": f"session={value}"}, timeout=5)
    assert response.status_code == 200
    return str(response.json()["upstream"])


def who(gw: RunningGateway, path: str, **kwargs: object) -> str:
    response = gw.get(path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return str(response.json()["upstream"])


def test_round_robin_reaches_every_endpoint(gw: RunningGateway) -> None:
    assert set(who(gw, "/spread/x") for _ in range(30)) == {"ep0", "ep1", "ep2"}


def test_cookie_hashing_is_sticky(gw: RunningGateway) -> None:
    first = httpx.get(gw.url("/sticky/x"), timeout=5)
    assert first.status_code == 200
    assert first.headers["set-cookie"].startswith("session="), "Envoy sets the cookie (ttl)"
    generated = first.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert {who_with_cookie(gw, generated) for _ in range(10)} == {first.json()["upstream"]}
    for user in ["alice", "bob"]:
        assert len({who_with_cookie(gw, user) for _ in range(10)}) == 1
    spread = {who_with_cookie(gw, f"user-{i}") for i in range(40)}
    assert len(spread) > 1, "different cookies land on different endpoints"


def test_header_hashing_is_sticky(gw: RunningGateway) -> None:
    for user in ["alice", "bob", "carol"]:
        assert len({who(gw, "/header/x", headers={"x-user": user}) for _ in range(10)}) == 1
    spread = {who(gw, "/header/x", headers={"x-user": f"u{i}"}) for i in range(40)}
    assert len(spread) > 1


def test_outlier_detection_ejects_one_endpoint(
    gw: RunningGateway, pool: list[EchoUpstream]
) -> None:
    pool[1].failing = True
    try:
        for _ in range(30):  # round robin: ep1 answers 500 twice soon enough
            gw.get("/outlier/od")
            if pool[1].paths().count("/od") >= 2:
                break
        poll(lambda: "failed_outlier_check" in flags(gw, "outlier", "127.0.0.2"), 5)
        assert flags(gw, "outlier", "127.0.0.1") == "healthy"
        served = Counter(gw.get("/outlier/od").json()["upstream"] for _ in range(20))
        assert set(served) == {"ep0", "ep2"}, served
    finally:
        pool[1].failing = False


def test_health_check_takes_dead_endpoint_out(gw: RunningGateway, pool: list[EchoUpstream]) -> None:
    pool[2].healthy = False
    try:
        poll(lambda: "failed_active_hc" in flags(gw, "checked", "127.0.0.3"), 5)
        served = Counter(who(gw, "/checked/x") for _ in range(20))
        assert set(served) == {"ep0", "ep1"}, served
    finally:
        pool[2].healthy = True
