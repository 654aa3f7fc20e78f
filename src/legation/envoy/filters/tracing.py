"""Tracing: the HTTP connection manager's `tracing` (no filter in the chain).

Envoy traces in the connection manager itself, so this entry of `HTTP_FILTERS` adds no
filter: it patches each connection manager with the TracingService's provider and
sampling (sent over LDS, so a change needs no restart, unlike a bootstrap tracer),
names each route's span after its Mapping (`decorator`), tags the span with the route
name, and adds the collector's cluster. Export is asynchronous: a collector that
is down loses spans (counted in Envoy's tracer stats), never requests.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from envoy.config.core.v3 import grpc_service_pb2
from envoy.config.trace.v3 import datadog_pb2, http_tracer_pb2, opentelemetry_pb2, zipkin_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.type.tracing.v3 import custom_tag_pb2
from envoy.type.v3 import percent_pb2
from google.protobuf import wrappers_pb2

from legation.envoy.cluster import translate_cluster
from legation.envoy.filters.base import NO_RESOURCES, FilterContext, HttpFilter, pack
from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway
from legation.ir.listeners import HttpConnectionManager
from legation.ir.observability import CustomTag, Sampling, TagSource, Tracing, TracingDriver
from legation.ir.routes import Route

TRACER_NAMES = {
    TracingDriver.ZIPKIN: "envoy.tracers.zipkin",
    TracingDriver.OPENTELEMETRY: "envoy.tracers.opentelemetry",
    TracingDriver.DATADOG: "envoy.tracers.datadog",
}
"""Envoy's extension name of each driver's tracer."""

ROUTE_TAGS = (("legation.route", "%ROUTE_NAME%"),)
"""Tags of every span, from the route that served it (Envoy adds `upstream_cluster`; the
span's name is the Mapping's). Set once on the connection manager as a formatter:
tracing_bench measured literal tags on each route, or a tag from the route's metadata
(the Mapping keys, a list turned into JSON per request), at a quarter to a third fewer
requests/s even at 1 % sampling; this costs a few percent."""


def _tag(tag: CustomTag) -> Any:
    out = custom_tag_pb2.CustomTag(tag=tag.tag)
    if tag.source is TagSource.LITERAL:
        out.literal.value = tag.value
    elif tag.source is TagSource.ENVIRONMENT:
        out.environment.CopyFrom(
            custom_tag_pb2.CustomTag.Environment(name=tag.value, default_value=tag.default or "")
        )
    else:
        out.request_header.CopyFrom(
            custom_tag_pb2.CustomTag.Header(name=tag.value, default_value=tag.default or "")
        )
    return out


def provider(tracing: Tracing) -> Any:
    """The `tracing.provider` of a connection manager: the driver and its collector."""
    cluster = tracing.cluster.name
    config: Any
    if tracing.driver is TracingDriver.ZIPKIN:
        config = zipkin_pb2.ZipkinConfig(
            collector_cluster=cluster,
            collector_endpoint=tracing.collector_endpoint,
            collector_endpoint_version=zipkin_pb2.ZipkinConfig.CollectorEndpointVersion.Value(
                tracing.collector_endpoint_version
            ),
            trace_id_128bit=tracing.trace_id_128bit,
            collector_hostname=tracing.collector_hostname or "",
        )
        if tracing.shared_span_context is not None:
            config.shared_span_context.CopyFrom(
                wrappers_pb2.BoolValue(value=tracing.shared_span_context)
            )
    elif tracing.driver is TracingDriver.OPENTELEMETRY:
        grpc = grpc_service_pb2.GrpcService(
            envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=cluster)
        )
        config = opentelemetry_pb2.OpenTelemetryConfig(
            grpc_service=grpc, service_name=tracing.service_name
        )
    else:
        config = datadog_pb2.DatadogConfig(
            collector_cluster=cluster,
            service_name=tracing.service_name,
            collector_hostname=tracing.collector_hostname or "",
        )
    return http_tracer_pb2.Tracing.Http(
        name=TRACER_NAMES[tracing.driver], typed_config=pack(config)
    )


def _set_sampling(out: Any, sampling: Sampling) -> None:
    """A connection manager's sampling is a `Percent`."""
    out.client_sampling.CopyFrom(percent_pb2.Percent(value=sampling.client))
    out.random_sampling.CopyFrom(percent_pb2.Percent(value=sampling.random))
    out.overall_sampling.CopyFrom(percent_pb2.Percent(value=sampling.overall))


def connection_manager_tracing(tracing: Tracing) -> Any:
    """The whole `tracing` block of a connection manager."""
    tags = [custom_tag_pb2.CustomTag(tag=tag, value=value) for tag, value in ROUTE_TAGS]
    tags.extend(_tag(t) for t in tracing.custom_tags)
    out = hcm_pb2.HttpConnectionManager.Tracing(provider=provider(tracing), custom_tags=tags)
    _set_sampling(out, tracing.sampling)
    return out


def mapping_name(key: str) -> str:
    """`Mapping/name.namespace` → `name` (a key of another form is returned whole)."""
    kind, _, rest = key.partition("/")
    return rest.rsplit(".", 1)[0] if kind == "Mapping" and "." in rest else key


class TracingFilter(HttpFilter):
    """The TracingService on every connection manager and route (adds no chain filter)."""

    name = "legation.tracing"

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Never in the filter chain: Envoy traces in the connection manager."""
        return False

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """Trace with the gateway's TracingService, if there is one."""
        if ctx.gateway.tracing is not None:
            hcm.tracing.CopyFrom(connection_manager_tracing(ctx.gateway.tracing))

    def route_state(self, gateway: Gateway) -> Hashable:
        """Whether there is tracing (routes then name their spans). Sampling is not part
        of it: routes carry no `tracing` of their own, which would replace the
        connection manager's sampling, so a sampling change is a listener change only."""
        return gateway.tracing is not None

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """Name the span after the Mapping."""
        if state is True and route.mappings:
            out.decorator.operation = mapping_name(route.mappings[0])

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        """The collector's cluster."""
        if gateway.tracing is None:
            return NO_RESOURCES
        cluster = gateway.tracing.cluster
        return XdsResources(clusters={cluster.name: translate_cluster(cluster)})
