"""HTTP filters: one module per Envoy filter, behind a small registry.

A filter plugs in by subclassing `HttpFilter` and taking its place in `HTTP_FILTERS`
(the chain's order); the router stays last. Later filters (ext_authz for AuthService,
ratelimit for RateLimitService, ...) decide from the listener IR whether they apply.
"""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from legation.envoy.filters.base import HttpFilter, pack
from legation.envoy.filters.cors import CorsFilter
from legation.envoy.filters.router import RouterFilter
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route

HTTP_FILTERS: tuple[HttpFilter, ...] = (CorsFilter(), RouterFilter())
"""Every HTTP filter, in chain order; the router must be last."""


def http_filters(listener: HttpConnectionManager) -> list[Any]:
    """The HTTP connection manager's filter chain for one listener."""
    chain = []
    for f in HTTP_FILTERS:
        config = f.listener_filter(listener)
        if config is not None:
            chain.append(hcm_pb2.HttpFilter(name=f.name, typed_config=pack(config)))
    return chain


def patch_route(route: Route, out: Any) -> None:
    """Let every filter add its per-route settings to the Envoy route `out`."""
    for f in HTTP_FILTERS:
        f.patch_route(route, out)


__all__ = ["HTTP_FILTERS", "HttpFilter", "http_filters", "patch_route"]
