"""IR listeners → Envoy `Listener` messages with an HTTP connection manager using RDS."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import address_pb2, config_source_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import any_pb2, wrappers_pb2

from legation.envoy.accesslog import translate_access_log
from legation.envoy.filters import http_filters
from legation.envoy.http_settings import apply_http_settings, apply_listener_settings
from legation.ir.gateway import HttpListener


def _pack(message: Any) -> Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _ads_source() -> Any:
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(),
        resource_api_version=config_source_pb2.V3,
    )


def translate_listener(listener: HttpListener) -> Any:
    """A plain-HTTP listener; routes arrive separately over RDS so they never drain it."""
    hcm = hcm_pb2.HttpConnectionManager(
        stat_prefix=listener.name.replace("-", "_"),
        codec_type=hcm_pb2.HttpConnectionManager.AUTO,
        rds=hcm_pb2.Rds(config_source=_ads_source(), route_config_name=listener.route_config),
        http_filters=http_filters(listener),
        use_remote_address=wrappers_pb2.BoolValue(value=listener.use_remote_address),
        xff_num_trusted_hops=listener.xff_num_trusted_hops,
        merge_slashes=listener.merge_slashes,
    )
    if listener.strip_matching_host_port:
        hcm.strip_matching_host_port = True
    if listener.access_log is not None:
        hcm.access_log.append(translate_access_log(listener.access_log))
    apply_http_settings(listener.settings, hcm)
    out = listener_pb2.Listener(
        name=listener.name,
        address=address_pb2.Address(
            socket_address=address_pb2.SocketAddress(
                address=listener.address, port_value=listener.port
            )
        ),
        # without SO_REUSEPORT (Envoy's default on Linux) a second Envoy cannot bind
        # the same port and silently share its traffic
        enable_reuse_port=wrappers_pb2.BoolValue(value=False),
        filter_chains=[
            listener_components_pb2.FilterChain(
                filters=[
                    listener_components_pb2.Filter(
                        name="envoy.filters.network.http_connection_manager",
                        typed_config=_pack(hcm),
                    )
                ]
            )
        ],
    )
    apply_listener_settings(listener.settings, out)
    return out
