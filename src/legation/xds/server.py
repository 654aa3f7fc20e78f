"""The ADS gRPC server (grpc.aio): state-of-the-world and delta streams over one cache.

It listens on a Unix socket (the default of `legation run`, in a 0700 directory) or
on a loopback TCP port, never with SO_REUSEPORT: a second server on the same port
must fail to bind, not share the port and steal Envoys.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc

from legation.xds.cache import XdsCache
from legation.xds.delta import DeltaStream
from legation.xds.sotw import SotwStream
from legation.xds.stream import Stream, StreamRefused

log = logging.getLogger("legation.xds")

_REFUSALS_LOGGED = 10
"""Refused streams logged one by one; after that only every 100th (a local process
connecting in a loop must not flood the log)."""


class _AdsServicer:
    """Implements ``envoy.service.discovery.v3.AggregatedDiscoveryService``."""

    def __init__(self, cache: XdsCache, ack_timeout: float) -> None:
        self._cache = cache
        self._ack_timeout = ack_timeout
        self.streams: set[Stream] = set()
        self.refused = 0
        """Streams refused for not presenting the run's token."""

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
        except StreamRefused as exc:
            self.refused += 1
            if self.refused <= _REFUSALS_LOGGED or self.refused % 100 == 0:
                log.warning("refused %s (%d refused so far)", exc, self.refused)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
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
        unix_path: pathlib.Path | None = None,
    ) -> None:
        """Listen on the Unix socket ``unix_path`` when given, else on ``host:port``
        (port 0 picks a free port; see :attr:`port`)."""
        self.cache = cache
        """The cache whose content is served."""
        self.unix_path = unix_path
        """The Unix socket listened on, or None for TCP."""
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._ack_timeout = ack_timeout
        self._server: Any = None

    @property
    def port(self) -> int:
        """The bound port (valid after :meth:`start`; 0 on a Unix socket)."""
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
                ("grpc.so_reuseport", 0),
            ]
        )
        servicer = _AdsServicer(self.cache, self._ack_timeout)
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(servicer, server)
        where = (
            f"unix:{self.unix_path}"
            if self.unix_path is not None
            else f"{self._host}:{self._requested_port}"
        )
        try:
            port = int(server.add_insecure_port(where))
        except RuntimeError as exc:  # newer grpcio raises instead of returning 0
            raise OSError(f"cannot bind xDS server to {where}: {exc}") from None
        if port == 0 and self.unix_path is None:
            raise OSError(f"cannot bind xDS server to {where}")
        await server.start()
        self._server, self._port = server, (port if self.unix_path is None else 0)
        log.info("xDS server listening on %s", where if self.unix_path else f"{self._host}:{port}")

    async def stop(self, grace: float) -> None:
        """Stop accepting streams and close open ones after ``grace`` seconds."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
