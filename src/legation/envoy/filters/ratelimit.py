"""envoy.filters.http.ratelimit: ask the RateLimitService about each request.

Only on listeners where some route sends descriptors. Each route's descriptors (its
Mapping `labels` for the limiter's domain, with the Module's `default_labels` in front
of every group, or alone when the route has none) go on the route's `rate_limits`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, cast

from envoy.config.core.v3 import config_source_pb2, grpc_service_pb2
from envoy.config.ratelimit.v3 import rls_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.extensions.filters.http.ratelimit.v3 import rate_limit_pb2
from google.protobuf import duration_pb2

from legation.envoy.cluster import translate_cluster
from legation.envoy.filters.base import NO_RESOURCES, FilterContext, HttpFilter
from legation.envoy.filters.retry_after import add_retry_after
from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway
from legation.ir.listeners import HttpConnectionManager
from legation.ir.ratelimit import (
    DescriptorAction,
    DescriptorKind,
    DomainLabels,
    LabelGroup,
    limit_state,
    route_groups,
)
from legation.ir.routes import Route


def _action(action: DescriptorAction) -> Any:
    act = rc.RateLimit.Action
    match action.kind:
        case DescriptorKind.SOURCE_CLUSTER:
            return act(source_cluster=act.SourceCluster())
        case DescriptorKind.DESTINATION_CLUSTER:
            return act(destination_cluster=act.DestinationCluster())
        case DescriptorKind.REMOTE_ADDRESS:
            return act(remote_address=act.RemoteAddress())
        case DescriptorKind.GENERIC_KEY:
            key = action.key if action.key != "generic_key" else ""
            return act(
                generic_key=act.GenericKey(descriptor_value=action.value, descriptor_key=key)
            )
    headers = act.RequestHeaders(
        header_name=action.header, descriptor_key=action.key, skip_if_absent=action.skip_if_absent
    )
    return act(request_headers=headers)


def rate_limits(groups: Sequence[LabelGroup]) -> list[Any]:
    """Envoy's route `rate_limits`: one entry (stage 0) per group."""
    return [rc.RateLimit(actions=[_action(a) for a in group]) for group in groups]


def _ms(ms: int) -> Any:
    return duration_pb2.Duration(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


class RateLimitFilter(HttpFilter):
    """The global limiter (envoyproxy/ratelimit or any `envoy.service.ratelimit.v3`)."""

    name = "envoy.filters.http.ratelimit"

    def route_state(self, gateway: Gateway) -> Hashable:
        """The limiter's domain and default labels (None without a limiter)."""
        return limit_state(gateway.ratelimit.service)

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Some route of the listener sends descriptors."""
        state = limit_state(ctx.gateway.ratelimit.service)
        if state is None:
            return False
        found = (cast(tuple[DomainLabels, ...], labels) for labels in ctx.uses(self))
        return any(route_groups(labels, state) for labels in found)

    def route_use(self, route: Route) -> Hashable | None:
        """The route's labels (descriptors depend on them and on the limiter alone)."""
        return route.options.labels

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """Domain, timeout, failure mode and the limiter's gRPC cluster."""
        service = ctx.gateway.ratelimit.service
        if service is None:
            return None
        grpc = grpc_service_pb2.GrpcService(
            envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=service.cluster.name)
        )
        return rate_limit_pb2.RateLimit(
            domain=service.domain,
            timeout=_ms(service.timeout_ms),
            failure_mode_deny=service.failure_mode_deny,
            # gRPC clients read RESOURCE_EXHAUSTED, not an HTTP 429 turned into UNAVAILABLE
            rate_limited_as_resource_exhausted=True,
            enable_x_ratelimit_headers=rate_limit_pb2.RateLimit.DRAFT_VERSION_03,
            rate_limit_service=rls_pb2.RateLimitServiceConfig(
                grpc_service=grpc, transport_api_version=config_source_pb2.V3
            ),
        )

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """Where the filter is on, its refusals carry `retry-after` (retry_after.py)."""
        if self.needed(listener, ctx):
            add_retry_after(hcm)

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """The route's descriptors as `rate_limits` on its route action."""
        if not out.HasField("route"):
            return  # redirects and direct answers never reach the limiter
        groups = route_groups(route.options.labels, state)
        if groups:
            out.route.rate_limits.extend(rate_limits(groups))

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        """The limiter's own HTTP/2 cluster."""
        service = gateway.ratelimit.service
        if service is None:
            return NO_RESOURCES
        return XdsResources(clusters={service.cluster.name: translate_cluster(service.cluster)})
