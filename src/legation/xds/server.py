"""The ADS gRPC server (grpc.aio): state-of-the-world and delta streams over one cache."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc

from legation.xds.cache import XdsCache
from legation.xds.delta import DeltaStream
from legation.xds.sotw import SotwStream
from legation.xds.stream import Stream

log = logging.getLogger("legation.xds")


class _AdsServicer:
    """Implements ``envoy.service.discovery.v3.AggregatedDiscoveryService``."""

    def __init__(self, cache: XdsCache, ack_timeout: float) -> None:
        self._cache = cache
        self._ack_timeout = ack_timeout
        self.streams: set[Stream] = set()

    async def StreamAggregatedResources(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> None:
        """Serve one state-of-the-world stream."""
        await self._serve(SotwStream(self._cache, self._ack_timeout), request_iterator, context)

    async def DeltaAggregatedResources(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> None:
        """Serve one delta stream."""
        await self._serve(DeltaStream(self._cache, self._ack_timeout), request_iterator, context)

    async def _serve(self, stream: Stream, requests: AsyncIterator[Any], context: Any) -> None:
        """Run ``stream``; an error ends this stream only, never the server."""
        self.streams.add(stream)
        try:
            await stream.run(requests, context.write)
        except asyncio.CancelledError:
            raise
        except Exception:
            node = stream.record.node_id if stream.record else "?"
            log.exception("xDS %s stream from %s failed", stream.kind, node)
        finally:
            self.streams.discard(stream)


class XdsServer:
    """Serves an :class:`XdsCache` to Envoys over ADS (gRPC, plaintext)."""

    def __init__(
        self,
        cache: XdsCache,
        host: str = "127.0.0.1",
        port: int = 18000,
        *,
        ack_timeout: float = 2.0,
    ) -> None:
        """Listen on ``host:port`` (port 0 picks a free port; see :attr:`port`)."""
        self.cache = cache
        """The cache whose content is served."""
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._ack_timeout = ack_timeout
        self._server: Any = None

    @property
    def port(self) -> int:
        """The bound port (valid after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("XdsServer not started")
        return self._port

    async def start(self) -> None:
        """Bind and start serving."""
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", -1),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
            ]
        )
        servicer = _AdsServicer(self.cache, self._ack_timeout)
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(servicer, server)
        port = int(server.add_insecure_port(f"{self._host}:{self._requested_port}"))
        if port == 0:
            raise OSError(f"cannot bind xDS server to {self._host}:{self._requested_port}")
        await server.start()
        self._server, self._port = server, port
        log.info("xDS server listening on %s:%d", self._host, port)

    async def stop(self, grace: float) -> None:
        """Stop accepting streams and close open ones after ``grace`` seconds."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
