"""A real Envoy driven by XdsServer over ADS (SotW and delta): routes, changes, a NACK,
make-before-break cluster removal, supervisor restart after SIGKILL, clean stop."""

from __future__ import annotations

import json
import os
import pathlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import config_source_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import json_format

from legation.envoy.bootstrap import build_bootstrap
from legation.envoy.process import EnvoyProcess
from legation.xds import types
from legation.xds.cache import XdsCache
from legation.xds.server import XdsServer

from .helpers import Load, Upstream, body_of, free_port, http_get, wait_for_body, wait_until

pytestmark = pytest.mark.e2e

ROUTES = "routes"
NODE = "test-node"


def _assignment(name: str, port: int) -> Any:
    assignment = endpoint_pb2.ClusterLoadAssignment(cluster_name=name)
    address = assignment.endpoints.add().lb_endpoints.add().endpoint.address
    address.socket_address.address = "127.0.0.1"
    address.socket_address.port_value = port
    return assignment


def _cluster(name: str, port: int) -> Any:
    cluster = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.STATIC)
    cluster.connect_timeout.seconds = 1
    cluster.load_assignment.CopyFrom(_assignment(name, port))
    return cluster


def _eds_cluster(name: str, timeout_ms: int = 1000) -> Any:
    cluster = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.EDS)
    cluster.connect_timeout.FromMilliseconds(timeout_ms)
    cluster.eds_cluster_config.eds_config.ads.SetInParent()
    cluster.eds_cluster_config.eds_config.resource_api_version = config_source_pb2.V3
    return cluster


def _listener(port: int) -> Any:
    hcm = hcm_pb2.HttpConnectionManager(stat_prefix="ingress")
    hcm.rds.route_config_name = ROUTES
    hcm.rds.config_source.ads.SetInParent()
    hcm.rds.config_source.resource_api_version = config_source_pb2.V3
    router = hcm.http_filters.add(name="envoy.filters.http.router")
    router.typed_config.Pack(router_pb2.Router())
    listener = listener_pb2.Listener(name="http")
    listener.address.socket_address.address = "127.0.0.1"
    listener.address.socket_address.port_value = port
    network_filter = listener.filter_chains.add().filters.add()
    network_filter.name = "envoy.filters.network.http_connection_manager"
    network_filter.typed_config.Pack(hcm)
    return listener


def _routes(*rules: tuple[str, str], bad_regex: bool = False) -> Any:
    """Routes (prefix, cluster) in order; ``bad_regex`` adds one Envoy rejects (RE2 "(")."""
    config = route_pb2.RouteConfiguration(name=ROUTES)
    vhost = config.virtual_hosts.add(name="all", domains=["*"])
    if bad_regex:
        route = vhost.routes.add()
        route.match.safe_regex.regex = "("
        route.route.cluster = rules[0][1]
    for prefix, cluster in rules:
        route = vhost.routes.add()
        route.match.prefix = prefix
        route.route.cluster = cluster
    return config


def _state(listener_port: int, clusters: dict[str, int], routes: Any) -> dict[str, dict[str, Any]]:
    return {
        types.CLUSTER: {name: _cluster(name, port) for name, port in clusters.items()},
        types.LISTENER: {"http": _listener(listener_port)},
        types.ROUTE: {ROUTES: routes},
    }


async def _count(load: Load, at_least: int = 5) -> bool:
    return len(load.statuses) >= at_least


@pytest.fixture
async def xds() -> AsyncIterator[XdsServer]:
    server = XdsServer(XdsCache(), port=0)
    await server.start()
    yield server
    await server.stop(0)


def _envoy(xds_port: int, work_dir: pathlib.Path, delta: bool) -> EnvoyProcess:
    admin_port = free_port()
    bootstrap = build_bootstrap(
        node_id=NODE,
        node_cluster="legation",
        admin_port=admin_port,
        xds_host="127.0.0.1",
        xds_port=xds_port,
        delta=delta,
    )
    return EnvoyProcess(bootstrap, work_dir, admin_port, concurrency=1, drain_time_s=1)


def _synced(cache: XdsCache, version: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return cache.acked_everywhere(version)

    return probe


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_envoy_follows_xds(xds: XdsServer, tmp_path: pathlib.Path, delta: bool) -> None:
    cache = xds.cache
    port = free_port()
    async with Upstream("A") as a, Upstream("B") as b:
        v1 = cache.set_resources(_state(port, {"a": a.port}, _routes(("/", "a"))))
        envoy = _envoy(xds.port, tmp_path, delta)
        await envoy.start()
        try:
            await envoy.wait_ready(20)
            await wait_for_body(port, "/x", "A /x")

            await wait_until(_synced(cache, v1), what="ACK of v1")
            (node,) = cache.nodes()
            assert node.node_id == NODE and node.connected
            assert node.stream_kind == ("delta" if delta else "sotw")

            # change the routes: /a goes to a second cluster
            v2 = cache.set_resources(
                _state(port, {"a": a.port, "b": b.port}, _routes(("/a", "b"), ("/", "a")))
            )
            await wait_for_body(port, "/a", "B /a")
            await wait_until(_synced(cache, v2), what="ACK of v2")
            good_routes = cache.nodes()[0].types[types.ROUTE].acked_version
            assert good_routes is not None

            # a route Envoy rejects: NACK recorded, last good config stays in force
            bad = _routes(("/a", "b"), ("/", "a"), bad_regex=True)
            v3 = cache.set_resources(_state(port, {"a": a.port, "b": b.port}, bad))

            async def nacked() -> bool:
                status = cache.nodes()[0].types[types.ROUTE]
                return status.nack is not None and status.nack.version == status.sent_version

            await wait_until(nacked, what="NACK of the bad route")
            status = cache.nodes()[0].types[types.ROUTE]
            assert status.nack is not None
            assert "(" in status.nack.message or "regex" in status.nack.message.lower()
            assert status.acked_version == good_routes
            assert not cache.acked_everywhere(v3)
            assert cache.nacks[types.ROUTE] == 1
            assert await body_of(port, "/a") == "B /a"
            assert await body_of(port, "/") == "A /"

            # make-before-break under load: replace clusters a and b by a new cluster c
            async with Load(port, "/x") as load:
                await wait_until(lambda: _count(load), what="load started")
                v4 = cache.set_resources(_state(port, {"c": b.port}, _routes(("/", "c"))))
                await wait_for_body(port, "/x", "B /x")
                await wait_until(_synced(cache, v4), what="ACK of v4")
                seen = len(load.statuses)
                await wait_until(lambda: _count(load, seen + 20), what="load after change")
            assert load.failures == 0, load.statuses
            assert set(load.bodies) == {"A /x", "B /x"}
            assert cache.nacks[types.ROUTE] == 1  # the bad version was never resent

            # SIGKILL: the supervisor restarts Envoy, which re-syncs from the cache
            old_pid = envoy.pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)

            async def restarted() -> bool:
                return envoy.restarts == 1 and envoy.alive and envoy.pid != old_pid

            await wait_until(restarted, what="Envoy restart")
            await envoy.wait_ready(20)
            await wait_for_body(port, "/y", "B /y")
            await wait_until(_synced(cache, v4), what="ACK after restart")
        finally:
            await envoy.stop(drain_seconds=1)
        assert not envoy.alive
        assert envoy.restarts == 1


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_eds_and_control_plane_restart(
    xds: XdsServer, tmp_path: pathlib.Path, delta: bool
) -> None:
    """EDS clusters warm and follow endpoint changes; a cluster update re-warms; after the
    control plane restarts with the same content Envoy resyncs without losing traffic."""
    cache = xds.cache
    port = free_port()

    def state(upstream_port: int, timeout_ms: int = 1000) -> dict[str, dict[str, Any]]:
        return {
            types.CLUSTER: {"e": _eds_cluster("e", timeout_ms)},
            types.ENDPOINT: {"e": _assignment("e", upstream_port)},
            types.LISTENER: {"http": _listener(port)},
            types.ROUTE: {ROUTES: _routes(("/", "e"))},
        }

    async with Upstream("A") as a, Upstream("B") as b:
        cache.set_resources(state(a.port))
        envoy = _envoy(xds.port, tmp_path, delta)
        await envoy.start()
        try:
            await envoy.wait_ready(20)
            await wait_for_body(port, "/", "A /")
            cache.set_resources(state(b.port))
            await wait_for_body(port, "/", "B /")
            version = cache.set_resources(state(b.port, timeout_ms=2000))  # re-warms cluster e
            await wait_until(_synced(cache, version), what="ACK of the updated cluster")
            await wait_for_body(port, "/", "B /")

            # the control plane dies; Envoy keeps routing on what it has
            await xds.stop(0)
            await wait_for_body(port, "/x", "B /x")
            fresh = XdsServer(XdsCache(), port=xds.port)
            assert fresh.cache.set_resources(state(b.port, timeout_ms=2000)) == version
            await fresh.start()
            try:
                await wait_until(_synced(fresh.cache, version), 15, what="resync")
                await wait_for_body(port, "/y", "B /y")
                fresh.cache.set_resources(state(a.port))
                await wait_for_body(port, "/", "A /")
                assert not fresh.cache.nacks
            finally:
                await fresh.stop(0)
        finally:
            await envoy.stop(drain_seconds=0)


async def _dynamic_config(envoy: EnvoyProcess) -> tuple[set[str], set[str], list[Any]]:
    """What Envoy holds from xDS: its dynamic cluster names, active listener names, and
    route configurations (as JSON, without their type URL)."""
    status, body = await envoy.admin_get("/config_dump")
    assert status == 200
    clusters: set[str] = set()
    listeners: set[str] = set()
    routes: list[Any] = []
    for section in json.loads(body)["configs"]:
        for c in section.get("dynamic_active_clusters", []):
            clusters.add(c["cluster"]["name"])
        for li in section.get("dynamic_listeners", []):
            if "active_state" in li:
                listeners.add(li["name"])
        for r in section.get("dynamic_route_configs", []):
            routes.append({k: v for k, v in r["route_config"].items() if k != "@type"})
    return clusters, listeners, routes


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_reconnecting_envoy_converges_to_what_changed_meanwhile(
    xds: XdsServer, tmp_path: pathlib.Path, delta: bool
) -> None:
    """The control plane goes away; meanwhile a cluster and its route are removed and
    another added. The Envoy that reconnects to the new control plane ends up holding
    exactly its content, nothing left over from before (delta: the resources Envoy names
    on reconnecting that no longer exist are removed)."""
    port = free_port()
    async with Upstream("A") as a, Upstream("B") as b, Upstream("C") as c:
        before = _state(port, {"a": a.port, "b": b.port}, _routes(("/a", "a"), ("/b", "b")))
        xds.cache.set_resources(before)
        envoy = _envoy(xds.port, tmp_path, delta)
        await envoy.start()
        try:
            await envoy.wait_ready(20)
            await wait_for_body(port, "/b", "B /b")
            assert (await _dynamic_config(envoy))[0] == {"a", "b"}
            await xds.stop(0)
            routes = _routes(("/a", "a"), ("/c", "c"))
            fresh = XdsServer(XdsCache(), port=xds.port)
            version = fresh.cache.set_resources(_state(port, {"a": a.port, "c": c.port}, routes))
            await fresh.start()
            try:
                await wait_until(_synced(fresh.cache, version), 15, what="resync")
                await wait_for_body(port, "/c", "C /c")
                assert (await http_get(port, "/b"))[0] == 404
                clusters, listeners, held = await _dynamic_config(envoy)
                assert (clusters, listeners) == ({"a", "c"}, {"http"})
                assert held == [json_format.MessageToDict(routes, preserving_proto_field_name=True)]
            finally:
                await fresh.stop(0)
        finally:
            await envoy.stop(drain_seconds=0)
