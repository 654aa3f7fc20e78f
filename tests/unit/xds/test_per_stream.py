"""Status is per connection, and only streams presenting the run's token are served."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from envoy.config.cluster.v3 import cluster_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from google.protobuf import struct_pb2

from legation.xds import types
from legation.xds.cache import XdsCache
from legation.xds.server import XdsServer
from legation.xds.sotw import SotwStream
from legation.xds.stream import StreamRefused

TOKEN = "s3cret"


def _cluster(name: str, timeout_s: int = 1) -> Any:
    cluster = cluster_pb2.Cluster(name=name, type=cluster_pb2.Cluster.STATIC)
    cluster.connect_timeout.seconds = timeout_s
    return cluster


def _request(
    node_id: str, token: str | None, version: str = "", nonce: str = "", error: str = ""
) -> Any:
    request = discovery_pb2.DiscoveryRequest(
        type_url=types.CLUSTER, version_info=version, response_nonce=nonce
    )
    request.node.id = node_id
    if token is not None:
        request.node.metadata.fields[types.NODE_TOKEN_KEY].CopyFrom(
            struct_pb2.Value(string_value=token)
        )
    if error:
        request.error_detail.message = error
    return request


class _Peer:
    """One xDS client's side of a SotW stream, by hand."""

    def __init__(self, cache: XdsCache, node_id: str, token: str | None) -> None:
        self.node_id, self.token = node_id, token
        self.requests: asyncio.Queue[Any] = asyncio.Queue()
        self.responses: asyncio.Queue[Any] = asyncio.Queue()
        self.task = asyncio.create_task(SotwStream(cache).run(self._iterate(), self._write))

    async def _iterate(self) -> AsyncIterator[Any]:
        while (request := await self.requests.get()) is not None:
            yield request

    async def _write(self, response: Any) -> None:
        await self.responses.put(response)

    def send(self, version: str = "", nonce: str = "", error: str = "") -> None:
        self.requests.put_nowait(_request(self.node_id, self.token, version, nonce, error))

    async def response(self) -> Any:
        return await asyncio.wait_for(self.responses.get(), 2)

    async def close(self) -> None:
        self.requests.put_nowait(None)
        await asyncio.wait_for(self.task, 2)


async def _acked(peer: _Peer) -> Any:
    """Subscribe, receive the clusters and ACK them; return the response."""
    peer.send()
    response = await peer.response()
    peer.send(response.version_info, response.nonce)
    await asyncio.sleep(0.05)
    return response


async def test_same_node_id_gets_its_own_record_and_cannot_poison_the_first() -> None:
    cache = XdsCache()
    cache.set_resources({types.CLUSTER: {"c1": _cluster("c1")}})
    first = _Peer(cache, "legation-default", None)
    good = await _acked(first)
    second = _Peer(cache, "legation-default", None)
    second.send()
    pushed = await second.response()
    second.send("", pushed.nonce, error="forged rejection")
    await asyncio.sleep(0.05)

    one, two = cache.nodes()
    assert (one.node_id, two.node_id) == ("legation-default", "legation-default")
    assert one.stream_id != two.stream_id
    assert one.types[types.CLUSTER].acked_version == good.version_info
    assert one.types[types.CLUSTER].nack is None
    assert two.types[types.CLUSTER].nack is not None
    assert not cache.acked_everywhere()  # the record of each stream is kept apart

    await second.close()
    assert [n.connected for n in cache.nodes()] == [True, False]
    assert cache.acked_everywhere()
    await first.close()


async def test_a_reconnecting_node_replaces_only_its_closed_record() -> None:
    cache = XdsCache()
    cache.set_resources({types.CLUSTER: {"c1": _cluster("c1")}})
    old = _Peer(cache, "n", None)
    await _acked(old)
    await old.close()
    new = _Peer(cache, "n", None)
    await _acked(new)
    (node,) = cache.nodes()
    assert node.connected and node.stream_id == 2
    await new.close()


async def test_streams_without_the_token_are_refused_and_not_recorded() -> None:
    cache = XdsCache(token=TOKEN)
    cache.set_resources({types.CLUSTER: {"c1": _cluster("c1")}})
    for token in (None, "wrong", "s3crét"):
        intruder = _Peer(cache, "legation-default", token)
        intruder.send()
        with pytest.raises(StreamRefused, match="legation-default"):
            await asyncio.wait_for(intruder.task, 2)
        assert intruder.responses.empty()
    assert cache.nodes() == []
    ours = _Peer(cache, "legation-default", TOKEN)
    await _acked(ours)
    assert cache.acked_everywhere() and len(cache.nodes()) == 1
    await ours.close()


async def test_server_on_a_unix_socket_denies_a_foreign_grpc_client(tmp_path: pathlib.Path) -> None:
    cache = XdsCache(token=TOKEN)
    cache.set_resources({types.CLUSTER: {"c1": _cluster("c1")}})
    server = XdsServer(cache, unix_path=tmp_path / "xds.sock")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"unix:{tmp_path / 'xds.sock'}") as channel:
            stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)

            async def requests(token: str | None) -> AsyncIterator[Any]:
                yield _request("legation-default", token)
                await asyncio.sleep(1)

            with pytest.raises(grpc.aio.AioRpcError) as denied:
                async for _ in stub.StreamAggregatedResources(requests("forged")):
                    pass
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
            call = stub.StreamAggregatedResources(requests(TOKEN))
            response = await asyncio.wait_for(call.read(), 2)
            assert [r.type_url for r in response.resources] == [types.CLUSTER]
            call.cancel()
    finally:
        await server.stop(0)
    assert server.port == 0
