"""LogServices: gRPC access loggers on every HTTP connection manager (no chain filter).

Each LogService adds one `envoy.access_loggers.http_grpc` (driver http: an entry per
request, with the additional headers) or `envoy.access_loggers.tcp_grpc` (driver tcp:
an entry per connection) beside the file access log, and its cluster. Entries are
buffered and streamed; a service that is down loses entries, never requests.
"""

from __future__ import annotations

from typing import Any

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import config_source_pb2, grpc_service_pb2
from envoy.extensions.access_loggers.grpc.v3 import als_pb2
from google.protobuf import duration_pb2, wrappers_pb2

from legation.envoy.cluster import translate_cluster
from legation.envoy.filters.base import NO_RESOURCES, FilterContext, HttpFilter, pack
from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway
from legation.ir.listeners import HttpConnectionManager
from legation.ir.observability import LogDriver, LogService

HTTP_GRPC, TCP_GRPC = "envoy.access_loggers.http_grpc", "envoy.access_loggers.tcp_grpc"


def _common(service: LogService) -> Any:
    grpc = grpc_service_pb2.GrpcService(
        envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=service.cluster.name)
    )
    ms = service.flush_interval_ms
    return als_pb2.CommonGrpcAccessLogConfig(
        log_name=service.resource,
        grpc_service=grpc,
        transport_api_version=config_source_pb2.ApiVersion.V3,
        buffer_flush_interval=duration_pb2.Duration(
            seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000
        ),
        buffer_size_bytes=wrappers_pb2.UInt32Value(value=service.buffer_size_bytes),
    )


def translate_log_service(service: LogService) -> Any:
    """One Envoy AccessLog streaming to the LogService."""
    if service.driver is LogDriver.TCP:
        tcp = als_pb2.TcpGrpcAccessLogConfig(common_config=_common(service))
        return accesslog_pb2.AccessLog(name=TCP_GRPC, typed_config=pack(tcp))
    http = als_pb2.HttpGrpcAccessLogConfig(
        common_config=_common(service),
        additional_request_headers_to_log=list(service.request_headers),
        additional_response_headers_to_log=list(service.response_headers),
        additional_response_trailers_to_log=list(service.response_trailers),
    )
    return accesslog_pb2.AccessLog(name=HTTP_GRPC, typed_config=pack(http))


class AccessLogServiceFilter(HttpFilter):
    """Every LogService on every connection manager (adds no chain filter)."""

    name = "legation.access_log_service"

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Never in the filter chain: access loggers belong to the connection manager."""
        return False

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """Append one gRPC access logger per LogService (after the file log, if any)."""
        hcm.access_log.extend(translate_log_service(s) for s in ctx.gateway.log_services)

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        """The LogServices' clusters."""
        if not gateway.log_services:
            return NO_RESOURCES
        clusters = {s.cluster.name: translate_cluster(s.cluster) for s in gateway.log_services}
        return XdsResources(clusters=clusters)
