"""envoy.filters.http.local_ratelimit: a token bucket per Envoy, per route or per Host.

legation's `local_rate_limit` on a Mapping or a Host (not an Emissary field). The listener's
filter has no bucket of its own (it lets everything through); each limited route
carries its bucket in `typed_per_filter_config`. A refused request gets 429 with the
draft-03 `x-ratelimit-*` headers.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2
from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2 as local_pb2
from envoy.type.v3 import percent_pb2, token_bucket_pb2
from google.protobuf import duration_pb2, wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter, pack
from legation.ir.listeners import HttpConnectionManager
from legation.ir.ratelimit import LocalRateLimit
from legation.ir.routes import Route

STAT_PREFIX = "local_rate_limit"
"""One statistics prefix for every route: bounded metric names."""


def _always() -> Any:
    return base_pb2.RuntimeFractionalPercent(
        default_value=percent_pb2.FractionalPercent(
            numerator=100, denominator=percent_pb2.FractionalPercent.HUNDRED
        )
    )


def local_limit(limit: LocalRateLimit) -> Any:
    """The per-route LocalRateLimit: the bucket, enabled and enforced for every request."""
    ms = limit.fill_interval_ms
    return local_pb2.LocalRateLimit(
        stat_prefix=STAT_PREFIX,
        token_bucket=token_bucket_pb2.TokenBucket(
            max_tokens=limit.max_tokens,
            tokens_per_fill=wrappers_pb2.UInt32Value(value=limit.tokens),
            fill_interval=duration_pb2.Duration(seconds=ms // 1000, nanos=(ms % 1000) * 10**6),
        ),
        filter_enabled=_always(),
        filter_enforced=_always(),
        enable_x_ratelimit_headers=ratelimit_pb2.DRAFT_VERSION_03,
    )


class LocalRateLimitFilter(HttpFilter):
    """Only on listeners where some route has a `local_rate_limit`."""

    name = "envoy.filters.http.local_ratelimit"

    def route_use(self, route: Route) -> Hashable | None:
        """True when the route has a local limit."""
        return True if route.options.local_rate_limit is not None else None

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Some route of the listener has a local limit."""
        if ctx.uses(self):
            return True
        hosts = ctx.route_config.virtual_hosts if ctx.route_config else ()
        return any(vh.local_rate_limit is not None for vh in hosts)

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """No bucket at the listener: only routes with one are limited."""
        return local_pb2.LocalRateLimit(stat_prefix=STAT_PREFIX)

    def patch_virtual_host(self, vh: Any, out: Any, state: Any) -> None:
        """The Host's bucket, shared by its routes, if it has one."""
        if vh.local_rate_limit is not None:
            out.typed_per_filter_config[self.name].CopyFrom(pack(local_limit(vh.local_rate_limit)))

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """The route's bucket, if it has one."""
        limit = route.options.local_rate_limit
        if limit is not None:
            out.typed_per_filter_config[self.name].CopyFrom(pack(local_limit(limit)))
