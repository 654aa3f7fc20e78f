"""envoy.filters.http.grpc_http1_bridge: HTTP/1.1 clients to gRPC upstreams."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.http.grpc_http1_bridge.v3 import config_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.listeners import HttpConnectionManager


class GrpcHttp1BridgeFilter(HttpFilter):
    """Only on listeners whose Module sets `enable_grpc_http11_bridge`."""

    name = "envoy.filters.http.grpc_http1_bridge"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The filter with its defaults."""
        return config_pb2.Config() if listener.filters.grpc_http1_bridge else None
