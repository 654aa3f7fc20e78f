"""XdsCache: deterministic versions, no-op updates, and ACK/NACK bookkeeping per node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.service.discovery.v3 import discovery_pb2

from legation.xds import types
from legation.xds.cache import XdsCache
from legation.xds.sotw import SotwStream


def _cluster(name: str, timeout_s: int = 1) -> Any:
    cluster = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.STATIC)
    cluster.connect_timeout.seconds = timeout_s
    return cluster


def _resources(*clusters: str, listener_port: int = 8080) -> dict[str, dict[str, Any]]:
    listener = listener_pb2.Listener(name="http")
    listener.address.socket_address.port_value = listener_port
    routes = route_pb2.RouteConfiguration(name="routes")
    for i in range(100):
        vh = routes.virtual_hosts.add(name=f"vh{i}", domains=[f"h{i}.example"])
        vh.routes.add().match.prefix = "/"
    return {
        types.CLUSTER: {name: _cluster(name) for name in clusters},
        types.LISTENER: {"http": listener},
        types.ROUTE: {"routes": routes},
    }


def test_versions_are_deterministic() -> None:
    a, b = XdsCache(), XdsCache()
    assert a.version == b.version
    forward = _resources("c1", "c2")
    backward = {url: dict(reversed(list(res.items()))) for url, res in reversed(forward.items())}
    assert a.set_resources(forward) == b.set_resources(backward)
    assert a.snapshot().get(types.CLUSTER).version == b.snapshot().get(types.CLUSTER).version
    assert a.set_resources(_resources("c1")) != b.version


def test_identical_content_is_a_noop() -> None:
    cache = XdsCache()
    calls: list[int] = []
    cache.add_listener(lambda: calls.append(1))
    first = cache.set_resources(_resources("c1"))
    assert calls == [1]
    before = cache.snapshot()
    assert cache.set_resources(_resources("c1")) == first
    assert calls == [1]
    assert cache.snapshot() is before


def test_unchanged_resources_are_reused() -> None:
    cache = XdsCache()
    cache.set_resources(_resources("c1"))
    routes_before = cache.snapshot().get(types.ROUTE)
    cache.set_resources(_resources("c1", listener_port=9090))
    after = cache.snapshot()
    assert after.get(types.ROUTE) is routes_before  # routes not re-hashed into new entries
    assert after.get(types.LISTENER).entries["http"].any.type_url == types.LISTENER


def test_wrong_type_is_refused() -> None:
    with pytest.raises(ValueError):
        XdsCache().set_resources({types.CLUSTER: {"x": listener_pb2.Listener(name="x")}})


class _Envoy:
    """Plays Envoy's side of one SotW stream, by hand."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[Any] = asyncio.Queue()
        self.responses: asyncio.Queue[Any] = asyncio.Queue()

    async def iterate(self) -> AsyncIterator[Any]:
        while (request := await self.requests.get()) is not None:
            yield request

    async def write(self, response: Any) -> None:
        await self.responses.put(response)

    def request(self, version: str = "", nonce: str = "", error: str | None = None) -> None:
        request = discovery_pb2.DiscoveryRequest(
            type_url=types.CLUSTER, version_info=version, response_nonce=nonce
        )
        request.node.id = "node-1"
        if error is not None:
            request.error_detail.message = error
        self.requests.put_nowait(request)

    async def response(self) -> Any:
        return await asyncio.wait_for(self.responses.get(), 2)


async def test_ack_and_nack_bookkeeping() -> None:
    cache = XdsCache()
    v1 = cache.set_resources({types.CLUSTER: {"c1": _cluster("c1")}})
    envoy = _Envoy()
    task = asyncio.create_task(SotwStream(cache).run(envoy.iterate(), envoy.write))
    envoy.request()
    first = await envoy.response()
    assert [r.type_url for r in first.resources] == [types.CLUSTER]
    assert not cache.acked_everywhere()
    envoy.request(first.version_info, first.nonce)
    await asyncio.sleep(0.05)
    (node,) = cache.nodes()
    assert node.connected and node.stream_kind == "sotw"
    assert node.types[types.CLUSTER].acked_version == first.version_info
    assert cache.acked_everywhere() and cache.acked_everywhere(v1)
    assert cache.acks[types.CLUSTER] == 1

    v2 = cache.set_resources({types.CLUSTER: {"c1": _cluster("c1", 2)}})
    second = await envoy.response()
    envoy.request(first.version_info, second.nonce, error="bad cluster")
    await asyncio.sleep(0.05)
    status = cache.nodes()[0].types[types.CLUSTER]
    assert status.acked_version == first.version_info
    assert status.nack is not None
    assert (status.nack.version, status.nack.nonce) == (second.version_info, second.nonce)
    assert status.nack.message == "bad cluster"
    assert not cache.acked_everywhere(v2)
    assert cache.nacks[types.CLUSTER] == 1
    assert envoy.responses.empty()  # the rejected version is not sent again

    envoy.request(first.version_info, "stale-nonce", error="ignored")
    await asyncio.sleep(0.05)
    assert cache.nacks[types.CLUSTER] == 1

    cache.set_resources({types.CLUSTER: {"c1": _cluster("c1", 3)}})
    third = await envoy.response()
    envoy.request(third.version_info, third.nonce)
    await asyncio.sleep(0.05)
    assert cache.acked_everywhere()

    envoy.requests.put_nowait(None)
    await asyncio.wait_for(task, 2)
    assert not cache.nodes()[0].connected
    assert not cache.acked_everywhere()
