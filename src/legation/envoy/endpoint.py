"""IR load assignments → Envoy `ClusterLoadAssignment` messages (EDS), and EDS wiring."""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import address_pb2, config_source_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from google.protobuf import struct_pb2

from legation.ir.endpoints import LoadAssignment

METADATA_NAMESPACE = "legation"


def eds_config() -> Any:
    """`eds_cluster_config` for a cluster whose endpoints come over ADS (named as it)."""
    return cluster_pb2.Cluster.EdsClusterConfig(
        eds_config=config_source_pb2.ConfigSource(
            ads=config_source_pb2.AggregatedConfigSource(),
            resource_api_version=config_source_pb2.V3,
        )
    )


def translate_load_assignment(assignment: LoadAssignment) -> Any:
    """Every ready endpoint as its own LbEndpoint, so the cluster balances per endpoint."""
    lb_endpoints = [
        endpoint_components_pb2.LbEndpoint(
            endpoint=endpoint_components_pb2.Endpoint(
                address=address_pb2.Address(
                    socket_address=address_pb2.SocketAddress(address=ep.address, port_value=ep.port)
                )
            )
        )
        for ep in assignment.endpoints
    ]
    metadata = struct_pb2.Struct()
    metadata.update({"service": assignment.service, "sources": list(assignment.sources)})
    locality = endpoint_components_pb2.LocalityLbEndpoints(lb_endpoints=lb_endpoints)
    locality.metadata.filter_metadata[METADATA_NAMESPACE].CopyFrom(metadata)
    return endpoint_pb2.ClusterLoadAssignment(cluster_name=assignment.cluster, endpoints=[locality])
