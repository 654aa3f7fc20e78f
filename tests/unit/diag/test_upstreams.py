"""Envoy admin answers → upstream health colours."""

from __future__ import annotations

import asyncio
import json

from legation.diag.upstreams import fetch_health, parse_clusters, parse_stats, worst


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
