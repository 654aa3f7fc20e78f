"""envoy.filters.http.grpc_web: gRPC-Web clients (browsers) to gRPC upstreams."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.http.grpc_web.v3 import grpc_web_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.listeners import HttpConnectionManager


class GrpcWebFilter(HttpFilter):
    """Only on listeners whose Module sets `enable_grpc_web`."""

    name = "envoy.filters.http.grpc_web"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The filter takes no settings."""
        return grpc_web_pb2.GrpcWeb() if listener.filters.grpc_web else None
