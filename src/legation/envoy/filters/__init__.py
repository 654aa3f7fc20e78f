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
from legation.envoy.filters.buffer import BufferFilter
from legation.envoy.filters.compressor import CompressorFilter
from legation.envoy.filters.cors import CorsFilter
from legation.envoy.filters.custom_response import CustomResponseFilter
from legation.envoy.filters.grpc_http1_bridge import GrpcHttp1BridgeFilter
from legation.envoy.filters.grpc_stats import GrpcStatsFilter
from legation.envoy.filters.grpc_web import GrpcWebFilter
from legation.envoy.filters.jwt_authn import JwtAuthnFilter
from legation.envoy.filters.lua import LuaFilter
from legation.envoy.filters.rbac import RbacFilter
from legation.envoy.filters.router import RouterFilter
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route

HTTP_FILTERS: tuple[HttpFilter, ...] = (
    RbacFilter(),  # refused sources get 403 before anything else runs
    BufferFilter(),
    CompressorFilter(),  # early, so it compresses every response body, rewritten ones too
    CorsFilter(),
    JwtAuthnFilter(),  # after CORS (preflights answered first), before ext_authz
    GrpcWebFilter(),
    GrpcHttp1BridgeFilter(),
    GrpcStatsFilter(),
    LuaFilter(),
    CustomResponseFilter(),  # late: sees the router's own replies (404, 503) as well
    RouterFilter(),
)
"""Every HTTP filter, in chain order; the router must be last. Responses pass through
the chain in reverse, so a filter listed earlier sees the response later."""


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
