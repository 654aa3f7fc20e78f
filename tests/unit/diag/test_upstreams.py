"""Envoy admin answers → upstream health colours."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import unquote

from legation.diag.upstreams import (
    EnvoyHealth,
    fetch_health,
    parse_clusters,
    parse_ext_authz,
    parse_stats,
    worst,
)


def _host(port: int, **status: object) -> dict[str, object]:
    stats = status.pop("stats", [])
    return {
        "address": {"socket_address": {"address": "10.0.0.1", "port_value": port}},
        "stats": stats,
        "health_status": {"eds_health_status": "HEALTHY", **status},
    }


def test_colours_follow_healthy_endpoints() -> None:
    body = json.dumps(
        {
            "cluster_statuses": [
                {"name": "all", "host_statuses": [_host(1), _host(2)]},
                {"name": "some", "host_statuses": [_host(1), _host(2, failed_outlier_check=True)]},
                {"name": "none", "host_statuses": [_host(1, eds_health_status="UNHEALTHY")]},
                {"name": "empty"},
            ]
        }
    )
    clusters = parse_clusters(body)
    assert clusters["some"][1].problems == ("failed_outlier_check",)
    assert clusters["none"][0].problems == ("eds_health_status UNHEALTHY",)
    assert clusters["empty"] == ()


def test_a_host_never_reached_is_unhealthy() -> None:
    stats = [{"name": "cx_connect_fail", "value": "4"}, {"name": "rq_error", "value": "4"}]
    [endpoint] = parse_clusters(
        json.dumps({"cluster_statuses": [{"name": "c", "host_statuses": [_host(1, stats=stats)]}]})
    )["c"]
    assert not endpoint.healthy and endpoint.cx_connect_fail == 4 and endpoint.rq_error == 4


def test_stats_lines_per_cluster() -> None:
    text = (
        "cluster.a.upstream_rq_total: 5\n"
        "cluster.a.upstream_rq_5xx: 1\n"
        "cluster.a.some_other_stat: 9\n"
        "cluster.b.c.upstream_rq_total: 2\n"
        "listener.x.downstream_cx_total: 3\n"
    )
    assert parse_stats(text) == {
        "a": {"upstream_rq_total": 5, "upstream_rq_5xx": 1},
        "b.c": {"upstream_rq_total": 2},
    }


def test_fetch_health_and_worst_colour() -> None:
    answers = {
        "/clusters": (
            200,
            json.dumps({"cluster_statuses": [{"name": "a", "host_statuses": [_host(1)]}]}),
        ),
        "/stats": (200, "cluster.a.upstream_rq_total: 3\n"),
    }

    async def admin(path: str) -> tuple[int, str] | None:
        return next((v for k, v in answers.items() if path.startswith(k)), None)

    async def down(path: str) -> tuple[int, str] | None:
        return None

    health = asyncio.run(fetch_health(admin))
    assert health is not None and health["a"].colour == "green"
    assert health["a"].stats == {"upstream_rq_total": 3}
    assert asyncio.run(fetch_health(down)) is None
    assert worst(["green", "yellow"]) == "yellow" and worst(["grey", "red"]) == "red"
    assert worst([]) == "grey"


def test_ext_authz_counters_summed_over_connection_managers() -> None:
    text = (
        "http.http_8080.ext_authz.ok: 4\n"
        "http.https_8443.ext_authz.ok: 2\n"
        "http.http_8080.ext_authz.failure_mode_allowed: 1\n"
        "cluster.app.ext_authz.ok: 6\n"  # the same checks, charged to the route's cluster
        "http.http_8080.ext_authz.unknown_stat: 9\n"
        "http.http_8080.downstream_rq_total: 8\n"
    )
    assert parse_ext_authz(text) == {
        "ok": 6,
        "denied": 0,
        "error": 0,
        "failure_mode_allowed": 1,
        "disabled": 0,
    }


def test_one_stats_call_asks_for_cluster_and_ext_authz_counters() -> None:
    paths: list[str] = []

    async def admin(path: str) -> tuple[int, str] | None:
        paths.append(path)
        if path.startswith("/clusters"):
            return 200, json.dumps({"cluster_statuses": []})
        return 200, "http.http_1.ext_authz.denied: 2\ncluster.a.upstream_rq_total: 1\n"

    health = asyncio.run(fetch_health(admin))
    assert isinstance(health, EnvoyHealth) and health.ext_authz["denied"] == 2
    [stats] = [p for p in paths if p.startswith("/stats")]
    pattern = re.compile(unquote(stats.split("filter=", 1)[1]))
    assert pattern.search("http.http_1.ext_authz.error")
    assert pattern.search("cluster.a.upstream_cx_connect_fail")
    assert not pattern.search("http.http_1.downstream_rq_total")
