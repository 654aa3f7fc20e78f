"""Retries, timeouts, circuit breakers, outlier detection and health checks through a
real Envoy, read back from the client's answers and Envoy's admin statistics.

Each Mapping names its cluster's statistics with `stats_name`, so the tests can read
`cluster.<stats_name>.*` from the admin port.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port

FAST_CHECK = {
    "interval": "200ms",
    "timeout": "200ms",
    "unhealthy_threshold": 1,
    "healthy_threshold": 1,
}


@pytest.fixture(scope="module")
def ups() -> Iterator[dict[str, EchoUpstream]]:
    servers = {n: EchoUpstream(n) for n in ["retry", "slow", "breaker", "outlier", "hc"]}
    for s in servers.values():
        s.__enter__()
    servers["hc"].healthy = False
    yield servers
    for s in servers.values():
        s.__exit__(None, None, None)


@pytest.fixture(scope="module")
def dead_port() -> int:
    return free_port()  # nothing listens there


@pytest.fixture(scope="module")
def gw(ups: dict[str, EchoUpstream], dead_port: int) -> Iterator[RunningGateway]:
    s = {name: up.service for name, up in ups.items()}
    m = mapping
    text = "".join(
        [
            m("retry", s["retry"], "/retry/", rewrite="",
              retry_policy={"retry_on": "5xx", "num_retries": 3}),
            m("per-try", s["slow"], "/per-try/", rewrite="", timeout_ms=5000,
              retry_policy={"retry_on": "5xx", "num_retries": 1, "per_try_timeout": "250ms"}),
            m("overall", s["slow"], "/overall/", rewrite="", timeout_ms=300),
            m("breaker", s["breaker"], "/breaker/", rewrite="", stats_name="breaker",
              circuit_breakers=[{"max_connections": 1, "max_pending_requests": 1,
                                 "max_requests": 1}]),
            m("outlier", s["outlier"], "/outlier/", rewrite="", stats_name="outlier",
              outlier_detection={"consecutive_5xx": 3, "interval": "100ms",
                                 "base_ejection_time": "30s", "max_ejection_percent": 100}),
            m("hc-http", s["hc"], "/hc-http/", rewrite="", stats_name="hc-http",
              health_checks=[{"health_check": {"http": {"path": "/healthz"}}, **FAST_CHECK}]),
            m("hc-tcp-live", s["hc"], "/hc-tcp-live/", stats_name="hc-tcp-live",
              health_checks=[{"health_check": {"tcp": {}}, **FAST_CHECK}]),
            m("hc-tcp-dead", f"127.0.0.1:{dead_port}", "/hc-tcp-dead/", stats_name="hc-tcp-dead",
              health_checks=[{"health_check": {"tcp": {}}, **FAST_CHECK}]),
        ]
    )  # fmt: skip
    with RunningGateway({"mappings.yaml": text}) as gateway:
        yield gateway


def stat(gw: RunningGateway, name: str) -> int:
    """One counter or gauge from Envoy's admin `/stats`."""
    text = gw.admin(f"/stats?filter=^{name}$").text
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        if key == name:
            return int(value)
    raise AssertionError(f"no stat {name} in {text!r}")


def host_flags(gw: RunningGateway, stats_name: str) -> str:
    """The `health_flags` of the (only) host of the cluster with that `stats_name`."""
    lines = gw.admin("/clusters").text.splitlines()
    names = [
        ln.split("::")[0] for ln in lines if ln.endswith(f"::observability_name::{stats_name}")
    ]
    assert names, f"no cluster with observability_name {stats_name}"
    for line in lines:
        if line.startswith(f"{names[0]}::") and "::health_flags::" in line:
            return line.rsplit("::", 1)[1]
    raise AssertionError(f"no host of {names[0]} in /clusters")


def test_retries_hide_transient_failures(gw: RunningGateway, ups: dict[str, EchoUpstream]) -> None:
    response = gw.get("/retry/flaky/a/2")
    assert response.status_code == 200
    assert ups["retry"].attempts["a"] == 3  # two 503s, then the answer


def test_retries_are_bounded(gw: RunningGateway, ups: dict[str, EchoUpstream]) -> None:
    response = gw.get("/retry/flaky/b/10")
    assert response.status_code == 503
    assert ups["retry"].attempts["b"] == 4  # the request and num_retries=3 retries


def test_per_try_timeout(gw: RunningGateway, ups: dict[str, EchoUpstream]) -> None:
    start = time.monotonic()
    response = gw.get("/per-try/slow/2000")
    elapsed = time.monotonic() - start
    assert response.status_code == 504
    assert elapsed < 1.9, elapsed  # two tries of 250 ms, not the upstream's 2 s
    assert ups["slow"].paths().count("/per-try/slow/2000") == 2


def test_overall_timeout(gw: RunningGateway) -> None:
    start = time.monotonic()
    response = gw.get("/overall/slow/2000")
    assert response.status_code == 504
    assert time.monotonic() - start < 1.5


def test_circuit_breaker_overflow(gw: RunningGateway) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = Counter(
            pool.map(
                lambda i: httpx.get(gw.url(f"/breaker/slow/700?i={i}"), timeout=10).status_code,
                range(6),
            )
        )
    assert codes[503] >= 1, codes
    assert codes[200] >= 1, codes
    assert stat(gw, "cluster.breaker.upstream_rq_pending_overflow") >= codes[503] > 0


def test_outlier_detection_ejects_failing_endpoint(
    gw: RunningGateway, ups: dict[str, EchoUpstream]
) -> None:
    """Single endpoint: ejection is visible in the outlier statistics."""
    assert stat(gw, "cluster.outlier.outlier_detection.ejections_enforced_total") == 0
    for _ in range(4):
        gw.get("/outlier/status/500")
    poll(lambda: stat(gw, "cluster.outlier.outlier_detection.ejections_enforced_total") >= 1, 5)
    assert stat(gw, "cluster.outlier.outlier_detection.ejections_active") == 1


def test_http_health_check_marks_endpoint(gw: RunningGateway, ups: dict[str, EchoUpstream]) -> None:
    poll(lambda: "failed_active_hc" in host_flags(gw, "hc-http"), 5)
    assert stat(gw, "cluster.hc-http.health_check.failure") >= 1
    ups["hc"].healthy = True
    poll(lambda: host_flags(gw, "hc-http") == "healthy", 5)
    assert stat(gw, "cluster.hc-http.health_check.success") >= 1


def test_tcp_health_check(gw: RunningGateway) -> None:
    poll(lambda: host_flags(gw, "hc-tcp-live") == "healthy", 5)
    poll(lambda: "failed_active_hc" in host_flags(gw, "hc-tcp-dead"), 5)
    assert stat(gw, "cluster.hc-tcp-dead.health_check.failure") >= 1
