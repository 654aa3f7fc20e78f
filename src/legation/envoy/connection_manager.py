"""IR HTTP connection managers → Envoy `HttpConnectionManager` using RDS."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import wrappers_pb2

from legation.envoy.accesslog import translate_access_log
from legation.envoy.config_source import ads_source
from legation.envoy.filters import FilterContext, http_filters, patch_connection_manager
from legation.envoy.filters.base import EMPTY_GATEWAY
from legation.envoy.http_settings import apply_http_settings
from legation.ir.listeners import HttpConnectionManager

NAME = "envoy.filters.network.http_connection_manager"
"""The network filter's name in a filter chain."""


def translate_connection_manager(
    manager: HttpConnectionManager, ctx: FilterContext | None = None
) -> Any:
    """Routes arrive separately over RDS, so a route change never drains the listener.

    `ctx` tells the filters the gateway and the manager's routes (which filters a
    listener needs depends on them)."""
    ctx = ctx or FilterContext(EMPTY_GATEWAY, None)
    hcm = hcm_pb2.HttpConnectionManager(
        stat_prefix=manager.stat_prefix,
        codec_type=hcm_pb2.HttpConnectionManager.AUTO,
        rds=hcm_pb2.Rds(config_source=ads_source(), route_config_name=manager.route_config),
        http_filters=http_filters(manager, ctx),
        use_remote_address=wrappers_pb2.BoolValue(value=manager.use_remote_address),
        xff_num_trusted_hops=manager.xff_num_trusted_hops,
        merge_slashes=manager.merge_slashes,
    )
    if manager.strip_matching_host_port:
        hcm.strip_matching_host_port = True
    if manager.access_log is not None:
        hcm.access_log.append(translate_access_log(manager.access_log))
    apply_http_settings(manager.settings, hcm)
    patch_connection_manager(manager, hcm, ctx)
    return hcm
