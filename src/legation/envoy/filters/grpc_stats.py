"""envoy.filters.http.grpc_stats: per-method gRPC statistics (the Module's `grpc_stats`)."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import grpc_method_list_pb2
from envoy.extensions.filters.http.grpc_stats.v3 import config_pb2
from google.protobuf import wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.listeners import HttpConnectionManager


class GrpcStatsFilter(HttpFilter):
    """Only on listeners whose Module sets `grpc_stats`."""

    name = "envoy.filters.http.grpc_stats"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """An allowlist of services when given, else all methods or none (as Emissary)."""
        stats = listener.filters.grpc_stats
        if stats is None:
            return None
        config = config_pb2.FilterConfig(enable_upstream_stats=stats.upstream_stats)
        if stats.services is not None:
            config.individual_method_stats_allowlist.CopyFrom(
                grpc_method_list_pb2.GrpcMethodList(
                    services=[
                        grpc_method_list_pb2.GrpcMethodList.Service(
                            name=name, method_names=list(methods)
                        )
                        for name, methods in stats.services
                    ]
                )
            )
        else:
            config.stats_for_all_methods.CopyFrom(wrappers_pb2.BoolValue(value=stats.all_methods))
        return config
