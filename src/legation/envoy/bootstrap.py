"""Build the Envoy bootstrap: private admin, one static xDS cluster, the rest over ADS.

Admin and xDS are Unix sockets (paths in legation's private run directory) unless TCP
ports are given. The node metadata can carry the run's token, which the xDS server asks
of every stream, so only this Envoy counts as ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import config_source_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2
from google.protobuf import json_format, struct_pb2

XDS_CLUSTER_NAME = "legation_xds"
"""Name of the static cluster through which Envoy reaches the legation xDS server."""

_HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_SOCKET_MODE = 0o600
"""Envoy's admin socket: this user only (the run directory is 0700 too)."""


def _xds_cluster(xds_host: str, xds_port: int, xds_path: str | None) -> Any:
    """Return the STATIC, HTTP/2 cluster pointing at the xDS server."""
    cluster = cluster_pb2.Cluster(
        name=XDS_CLUSTER_NAME,
        type=cluster_pb2.Cluster.STATIC,
    )
    cluster.connect_timeout.FromMilliseconds(1000)
    options = http_protocol_options_pb2.HttpProtocolOptions()
    options.explicit_http_config.http2_protocol_options.SetInParent()
    cluster.typed_extension_protocol_options[_HTTP_PROTOCOL_OPTIONS_KEY].Pack(options)
    cluster.load_assignment.cluster_name = XDS_CLUSTER_NAME
    endpoint = cluster.load_assignment.endpoints.add().lb_endpoints.add().endpoint
    if xds_path is not None:
        endpoint.address.pipe.path = xds_path
    else:
        endpoint.address.socket_address.address = xds_host
        endpoint.address.socket_address.port_value = xds_port
    return cluster


def _ads_source() -> Any:
    """Return ``ConfigSource{ads: {}, resource_api_version: V3}``."""
    source = config_source_pb2.ConfigSource(resource_api_version=config_source_pb2.V3)
    source.ads.SetInParent()
    return source


def build_bootstrap(
    *,
    node_id: str,
    node_cluster: str,
    delta: bool,
    admin_port: int | None = None,
    admin_path: str | None = None,
    xds_host: str = "127.0.0.1",
    xds_port: int = 0,
    xds_path: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Any:
    """Return an ``envoy.config.bootstrap.v3.Bootstrap`` for an Envoy driven by legation.

    Admin listens on the Unix socket ``admin_path``, or on ``127.0.0.1:admin_port``
    (give one). Listeners and clusters come over ADS from the Unix socket ``xds_path``
    or from ``xds_host:xds_port`` (``delta`` selects incremental xDS instead of
    state-of-the-world). ``metadata`` (string values) becomes the node metadata.
    Pure: no I/O.
    """
    if (admin_port is None) == (admin_path is None):
        raise ValueError("give exactly one of admin_port and admin_path")
    bootstrap = bootstrap_pb2.Bootstrap()
    bootstrap.node.id = node_id
    bootstrap.node.cluster = node_cluster
    for key, value in sorted((metadata or {}).items()):
        bootstrap.node.metadata.fields[key].CopyFrom(struct_pb2.Value(string_value=value))

    if admin_path is not None:
        bootstrap.admin.address.pipe.path = admin_path
        bootstrap.admin.address.pipe.mode = _SOCKET_MODE
    else:
        admin_address = bootstrap.admin.address.socket_address
        admin_address.address = "127.0.0.1"
        admin_address.port_value = admin_port or 0

    bootstrap.static_resources.clusters.append(_xds_cluster(xds_host, xds_port, xds_path))

    ads = bootstrap.dynamic_resources.ads_config
    ads.api_type = (
        config_source_pb2.ApiConfigSource.DELTA_GRPC
        if delta
        else config_source_pb2.ApiConfigSource.GRPC
    )
    ads.transport_api_version = config_source_pb2.V3
    ads.set_node_on_first_message_only = True
    ads.grpc_services.add().envoy_grpc.cluster_name = XDS_CLUSTER_NAME

    bootstrap.dynamic_resources.lds_config.CopyFrom(_ads_source())
    bootstrap.dynamic_resources.cds_config.CopyFrom(_ads_source())
    return bootstrap


def bootstrap_to_json(bootstrap: Any) -> str:
    """Render a Bootstrap as JSON (stable key order), suitable for ``envoy -c``."""
    return str(
        json_format.MessageToJson(bootstrap, sort_keys=True, preserving_proto_field_name=True)
    )
