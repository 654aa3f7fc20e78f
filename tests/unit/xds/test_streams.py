"""ADS streams driven by a scripted client: push order, make-before-break, delta reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.service.discovery.v3 import discovery_pb2

from legation.xds import types
from legation.xds.cache import XdsCache
from legation.xds.delta import DeltaStream
from legation.xds.sotw import SotwStream
from legation.xds.stream import Stream


def _state(clusters: list[str], route_to: str) -> dict[str, dict[str, Any]]:
    routes = route_pb2.RouteConfiguration(name="r")
    route = routes.virtual_hosts.add(name="v", domains=["*"]).routes.add()
    route.match.prefix = "/"
    route.route.cluster = route_to
    return {
        types.CLUSTER: {c: cluster_pb2.Cluster(name=c) for c in clusters},
        types.LISTENER: {"l": listener_pb2.Listener(name="l")},
        types.ROUTE: {"r": routes},
    }


class _Client:
    """A scripted Envoy that ACKs everything and subscribes RDS to "r" after LDS."""

    def __init__(self, cache: XdsCache, delta: bool) -> None:
        self.delta = delta
        self.requests: asyncio.Queue[Any] = asyncio.Queue()
        self.log: list[tuple[str, list[str], list[str]]] = []
        self.asked_route = False
        self.subscribed: dict[str, list[str]] = {}
        self.on_listener: tuple[str, list[str]] | None = None
        """A subscription to make once the first listener arrives (as Envoy asks for
        the secrets a listener names)."""
        self.hold_listener_ack = False
        """Like Envoy: ACK a listener only once its secret arrived (it warms until then)."""
        self._held: Any = None
        stream: Stream = DeltaStream(cache) if delta else SotwStream(cache)
        self.task = asyncio.create_task(stream.run(self._iterate(), self._write))

    async def _iterate(self) -> AsyncIterator[Any]:
        while (request := await self.requests.get()) is not None:
            yield request

    def ask(self, type_url: str, names: list[str] | None = None, **extra: Any) -> None:
        self.asked_route |= type_url == types.ROUTE
        self.subscribed[type_url] = names or []
        if self.delta:
            request = discovery_pb2.DeltaDiscoveryRequest(
                type_url=type_url, resource_names_subscribe=names or [], **extra
            )
        else:
            request = discovery_pb2.DiscoveryRequest(
                type_url=type_url, resource_names=names or [], **extra
            )
        request.node.id = "n"
        self.requests.put_nowait(request)

    async def _write(self, response: Any) -> None:
        if self.delta:
            names = [r.name for r in response.resources]
            removed = list(response.removed_resources)
            ack = discovery_pb2.DeltaDiscoveryRequest(
                type_url=response.type_url, response_nonce=response.nonce
            )
        else:
            names = [_name(r) for r in response.resources]
            removed = []
            ack = discovery_pb2.DiscoveryRequest(
                type_url=response.type_url,
                version_info=response.version_info,
                response_nonce=response.nonce,
                resource_names=self.subscribed.get(response.type_url, []),
            )
        self.log.append((types.short_name(response.type_url), names, removed))
        if self.hold_listener_ack and response.type_url == types.LISTENER:
            self._held = ack
        else:
            self.requests.put_nowait(ack)
        if response.type_url == types.SECRET and self._held is not None:
            self.requests.put_nowait(self._held)
            self._held = None
        if response.type_url == types.LISTENER and not self.asked_route:
            self.ask(types.ROUTE, ["r"])
        if response.type_url == types.LISTENER and self.on_listener is not None:
            self.ask(*self.on_listener)
            self.on_listener = None

    async def close(self) -> None:
        self.requests.put_nowait(None)
        await asyncio.wait_for(self.task, 2)


def _name(any_message: Any) -> str:
    """Name of a packed Cluster/Listener/RouteConfiguration."""
    classes = (
        cluster_pb2.Cluster,
        listener_pb2.Listener,
        route_pb2.RouteConfiguration,
        secret_pb2.Secret,
    )
    for cls in classes:
        if any_message.Is(cls.DESCRIPTOR):
            message = cls()
            any_message.Unpack(message)
            return str(message.name)
    raise AssertionError(any_message.type_url)


async def _settle(cache: XdsCache) -> None:
    for _ in range(100):
        await asyncio.sleep(0.01)
        if cache.acked_everywhere():
            return
    raise AssertionError("not synced")


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_make_before_break(delta: bool) -> None:
    cache = XdsCache()
    cache.set_resources(_state(["a"], "a"))
    client = _Client(cache, delta)
    client.ask(types.CLUSTER)
    client.ask(types.LISTENER)
    await _settle(cache)
    assert [entry[0] for entry in client.log] == ["cluster", "listener", "route"]
    client.log.clear()

    cache.set_resources(_state(["b"], "b"))  # replace cluster a by b
    await _settle(cache)
    if delta:
        assert client.log == [
            ("cluster", ["b"], []),  # add b, keep a
            ("route", ["r"], []),
            ("cluster", [], ["a"]),  # only now remove a
        ]
    else:
        assert client.log == [
            ("cluster", ["a", "b"], []),
            ("route", ["r"], []),
            ("cluster", ["b"], []),
        ]
    assert not cache.nacks
    await client.close()


async def test_delta_reconnect_skips_known_resources() -> None:
    cache = XdsCache()
    cache.set_resources(_state(["a"], "a"))
    first = _Client(cache, delta=True)
    first.ask(types.CLUSTER)
    first.ask(types.LISTENER)
    await _settle(cache)
    await first.close()
    versions = {
        url: {name: entry.version for name, entry in cache.snapshot().get(url).entries.items()}
        for url in (types.CLUSTER, types.LISTENER, types.ROUTE)
    }
    second = _Client(cache, delta=True)
    second.ask(types.CLUSTER, initial_resource_versions=versions[types.CLUSTER])
    second.ask(types.LISTENER, initial_resource_versions=versions[types.LISTENER])
    second.ask(types.ROUTE, ["r"], initial_resource_versions=versions[types.ROUTE])
    await _settle(cache)
    # wildcard types get one empty answer; nothing is resent
    assert second.log == [("cluster", [], []), ("listener", [], [])]
    await second.close()


def _with_secret(listener: str, secret: str | None, content: bytes = b"one") -> dict[str, Any]:
    state = _state(["a"], "a")
    state[types.LISTENER] = {"l": listener_pb2.Listener(name="l", stat_prefix=listener)}
    if secret is not None:
        message = secret_pb2.Secret(name=secret)
        message.tls_certificate.certificate_chain.inline_bytes = content
        state[types.SECRET] = {secret: message}
    return state


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_secret_rotation_is_one_push_and_removal_comes_last(delta: bool) -> None:
    """A changed secret is pushed alone; a secret no longer named goes after the rest."""
    cache = XdsCache()
    cache.set_resources(_with_secret("v1", "s"))
    client = _Client(cache, delta)
    client.on_listener = (types.SECRET, ["s"])
    client.ask(types.CLUSTER)
    client.ask(types.LISTENER)
    await _settle(cache)
    assert [entry[0] for entry in client.log] == ["cluster", "listener", "secret", "route"]
    client.log.clear()

    cache.set_resources(_with_secret("v1", "s", b"two"))  # rotate: new content, same name
    await _settle(cache)
    assert client.log == [("secret", ["s"], [])]
    client.log.clear()

    cache.set_resources(_with_secret("v2", None))  # the listener stops naming it
    await _settle(cache)
    removal = ("secret", [], ["s"]) if delta else ("secret", [], [])
    assert client.log == [("listener", ["l"], []), removal]
    assert not cache.nacks
    await client.close()


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
async def test_secret_goes_out_while_the_listener_warms(delta: bool) -> None:
    """Envoy holds the LDS ACK until the listener's secret arrives: SDS must not wait."""
    cache = XdsCache()
    cache.set_resources(_with_secret("v1", "s"))
    client = _Client(cache, delta)
    client.hold_listener_ack = True
    client.on_listener = (types.SECRET, ["s"])
    started = asyncio.get_running_loop().time()
    client.ask(types.CLUSTER)
    client.ask(types.LISTENER)
    await _settle(cache)
    elapsed = asyncio.get_running_loop().time() - started
    assert [entry[0] for entry in client.log][:3] == ["cluster", "listener", "secret"]
    assert elapsed < 0.5, f"SDS waited for the held LDS ACK ({elapsed:.2f} s)"
    await client.close()
