"""envoy.filters.http.cors: preflight answers and CORS headers, configured per route."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.type.matcher.v3 import regex_pb2, string_pb2
from google.protobuf import wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter, pack
from legation.ir.listeners import HttpConnectionManager
from legation.ir.policies import CorsPolicy
from legation.ir.routes import Route


def _origin(origin: str) -> Any:
    if origin == "*":
        return string_pb2.StringMatcher(safe_regex=regex_pb2.RegexMatcher(regex=".*"))
    return string_pb2.StringMatcher(exact=origin)


def cors_policy(cors: CorsPolicy) -> Any:
    """The per-route `CorsPolicy` for one route's CORS settings."""
    policy = cors_pb2.CorsPolicy(
        allow_origin_string_match=[_origin(o) for o in cors.origins],
        allow_methods=", ".join(cors.methods),
        allow_headers=", ".join(cors.headers),
        expose_headers=", ".join(cors.exposed_headers),
        max_age=cors.max_age or "",
    )
    if cors.credentials is not None:
        policy.allow_credentials.CopyFrom(wrappers_pb2.BoolValue(value=cors.credentials))
    return policy


class CorsFilter(HttpFilter):
    """Only on listeners where some route has a CORS policy (the policies are per route)."""

    name = "envoy.filters.http.cors"

    def route_use(self, route: Route) -> Hashable | None:
        """True when the route has a CORS policy."""
        return True if route.options.cors is not None else None

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Some route of the listener has a CORS policy."""
        return bool(ctx.uses(self))

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The filter itself takes no settings; policies are per route."""
        return cors_pb2.Cors()

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """Attach the route's CORS policy, if it has one."""
        if route.options.cors is not None:
            out.typed_per_filter_config[self.name].CopyFrom(pack(cors_policy(route.options.cors)))
