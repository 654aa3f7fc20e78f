"""HTTP filters: one module per Envoy filter, behind a small registry.

A filter plugs in by subclassing `HttpFilter` (its hooks: see filters/base.py) and
taking its place in `HTTP_FILTERS` (the chain's order); the router stays last.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from legation.envoy.filters.access_log_service import AccessLogServiceFilter
from legation.envoy.filters.base import (
    EMPTY_GATEWAY,
    FilterContext,
    HttpFilter,
    pack,
)
from legation.envoy.filters.buffer import BufferFilter
from legation.envoy.filters.compressor import CompressorFilter
from legation.envoy.filters.cors import CorsFilter
from legation.envoy.filters.custom_response import CustomResponseFilter
from legation.envoy.filters.ext_authz import ExtAuthzFilter
from legation.envoy.filters.grpc_http1_bridge import GrpcHttp1BridgeFilter
from legation.envoy.filters.grpc_stats import GrpcStatsFilter
from legation.envoy.filters.grpc_web import GrpcWebFilter
from legation.envoy.filters.jwt_authn import JwtAuthnFilter
from legation.envoy.filters.jwt_claims import JwtClaimsFilter
from legation.envoy.filters.local_ratelimit import LocalRateLimitFilter
from legation.envoy.filters.lua import LuaFilter
from legation.envoy.filters.oauth2 import OAuth2Filter
from legation.envoy.filters.ratelimit import RateLimitFilter
from legation.envoy.filters.rbac import RbacFilter
from legation.envoy.filters.router import RouterFilter
from legation.envoy.filters.tracing import TracingFilter
from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route

HTTP_FILTERS: tuple[HttpFilter, ...] = (
    RbacFilter(),  # refused sources get 403 before anything else runs
    BufferFilter(),
    CompressorFilter(),  # early, so it compresses every response body, rewritten ones too
    CorsFilter(),  # before authentication: preflight requests carry no credentials
    OAuth2Filter(),  # OIDC login: a browser without a session is sent to the provider
    JwtAuthnFilter(),  # cors → oauth2 → jwt → ext_authz → ratelimit → router
    JwtClaimsFilter(),  # a second RBAC: reads the tokens jwt_authn just accepted
    ExtAuthzFilter(),  # AuthService
    # limits after authentication, so refused requests
    # never spend a client's budget
    RateLimitFilter(),
    LocalRateLimitFilter(),
    GrpcWebFilter(),
    GrpcHttp1BridgeFilter(),
    GrpcStatsFilter(),
    LuaFilter(),
    CustomResponseFilter(),  # late: sees the router's own replies (404, 503) as well
    RouterFilter(),
    # Not in the chain (`needed` is False): they patch the connection manager and routes
    # and add their collectors' clusters through the same hooks.
    TracingFilter(),
    AccessLogServiceFilter(),
)
"""Every HTTP filter, in chain order; the router must be the last one in the chain.
Responses pass through the chain in reverse, so a filter listed earlier sees the
response later. Entries that are never `needed` only use the other hooks."""

RouteStates = tuple[Hashable, ...]
"""Each filter's `route_state`, in `HTTP_FILTERS` order."""


def http_filters(listener: HttpConnectionManager, ctx: FilterContext | None = None) -> list[Any]:
    """The HTTP connection manager's filter chain for one listener."""
    ctx = ctx or FilterContext(EMPTY_GATEWAY, None)
    chain = []
    for f in HTTP_FILTERS:
        if not f.needed(listener, ctx):
            continue
        config = f.listener_filter(listener, ctx)
        if config is not None:
            chain.append(hcm_pb2.HttpFilter(name=f.name, typed_config=pack(config)))
    return chain


def patch_connection_manager(listener: HttpConnectionManager, hcm: Any, ctx: FilterContext) -> None:
    """Let every filter change the listener's Envoy connection manager."""
    for f in HTTP_FILTERS:
        f.patch_connection_manager(listener, hcm, ctx)


def route_states(gateway: Gateway) -> RouteStates:
    """The gateway-level values the filters' per-route output depends on."""
    return tuple(f.route_state(gateway) for f in HTTP_FILTERS)


NO_STATES: RouteStates = ()
"""No states given (a route translated alone): every filter's state is None."""


def patch_route(route: Route, out: Any, states: RouteStates = NO_STATES) -> None:
    """Let every filter add its per-route settings to the Envoy route `out`."""
    states = states or tuple(None for _ in HTTP_FILTERS)
    for f, state in zip(HTTP_FILTERS, states, strict=True):
        f.patch_route(route, out, state)


def patch_virtual_host(vh: Any, out: Any, states: RouteStates = NO_STATES) -> None:
    """Let every filter add settings to an Envoy VirtualHost `out` (initially empty)."""
    states = states or tuple(None for _ in HTTP_FILTERS)
    for f, state in zip(HTTP_FILTERS, states, strict=True):
        f.patch_virtual_host(vh, out, state)


def extra_resources(gateway: Gateway) -> XdsResources:
    """Every filter's extra resources, merged by kind (a later name replaces nothing:
    the first filter to name a resource keeps it)."""
    merged: dict[str, dict[str, Any]] = {}
    for f in HTTP_FILTERS:
        extra = f.extra_resources(gateway)
        for kind in ("listeners", "routes", "clusters", "endpoints", "secrets"):
            for name, message in getattr(extra, kind).items():
                merged.setdefault(kind, {}).setdefault(name, message)
    return XdsResources(**merged)


__all__ = [
    "HTTP_FILTERS",
    "FilterContext",
    "HttpFilter",
    "extra_resources",
    "http_filters",
    "patch_connection_manager",
    "patch_route",
    "patch_virtual_host",
    "route_states",
]
