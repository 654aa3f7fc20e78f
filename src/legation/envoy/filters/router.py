"""envoy.filters.http.router: forwards the request; always the last filter."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.http.router.v3 import router_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.listeners import HttpConnectionManager


class RouterFilter(HttpFilter):
    """The terminal filter of every HTTP listener."""

    name = "envoy.filters.http.router"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The router; with `suppress_envoy_headers` it adds no `x-envoy-*` headers."""
        return router_pb2.Router(suppress_envoy_headers=listener.filters.suppress_envoy_headers)
