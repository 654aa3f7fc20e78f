"""IR clusters → Envoy `Cluster` messages."""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import address_pb2, base_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from google.protobuf import any_pb2, duration_pb2

from legation.envoy.endpoint import eds_config
from legation.envoy.secret import TLS_TRANSPORT_SOCKET, upstream_tls_context
from legation.envoy.upstream import apply_upstream_options
from legation.ir.clusters import Cluster, Discovery

_DISCOVERY = {
    Discovery.STATIC: cluster_pb2.Cluster.STATIC,
    Discovery.STRICT_DNS: cluster_pb2.Cluster.STRICT_DNS,
    Discovery.LOGICAL_DNS: cluster_pb2.Cluster.LOGICAL_DNS,
    Discovery.EDS: cluster_pb2.Cluster.EDS,
}


def _duration_ms(ms: int) -> Any:
    return duration_pb2.Duration(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def translate_cluster(cluster: Cluster) -> Any:
    """One Envoy cluster with its endpoint inline (STATIC or STRICT_DNS)."""
    endpoint = endpoint_components_pb2.LbEndpoint(
        endpoint=endpoint_components_pb2.Endpoint(
            address=address_pb2.Address(
                socket_address=address_pb2.SocketAddress(
                    address=cluster.host, port_value=cluster.port
                )
            )
        )
    )
    message = cluster_pb2.Cluster(
        name=cluster.name,
        type=_DISCOVERY[cluster.discovery],
        connect_timeout=_duration_ms(cluster.connect_timeout_ms),
        lb_policy=cluster_pb2.Cluster.ROUND_ROBIN,
        # Prefer IPv4: "localhost" upstreams usually listen on 127.0.0.1 only.
        dns_lookup_family=cluster_pb2.Cluster.V4_PREFERRED,
        load_assignment=endpoint_pb2.ClusterLoadAssignment(
            cluster_name=cluster.name,
            endpoints=[endpoint_components_pb2.LocalityLbEndpoints(lb_endpoints=[endpoint])],
        ),
    )
    if cluster.discovery is Discovery.EDS:  # endpoints arrive over EDS (envoy/endpoint.py)
        message.ClearField("load_assignment")
        message.ClearField("dns_lookup_family")
        message.eds_cluster_config.CopyFrom(eds_config())
    apply_upstream_options(cluster.options, message)
    if cluster.tls:
        context = upstream_tls_context(cluster.host, cluster.upstream_tls)
        packed = any_pb2.Any()
        packed.Pack(context)
        message.transport_socket.CopyFrom(
            base_pb2.TransportSocket(name=TLS_TRANSPORT_SOCKET, typed_config=packed)
        )
    return message
