"""Translated xDS resources as one static Envoy bootstrap, for `envoy --mode validate`.

Listeners name their route configuration over RDS and EDS clusters get endpoints
over ADS; a static bootstrap has no xDS server, so each route configuration is put
inline into the connection manager that names it and each EDS cluster becomes a
STATIC cluster with its translated load assignment. A name that is missing raises
`KeyError`: the output referenced something it does not contain.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import json_format

from legation.envoy.binary import find_envoy_binary
from legation.envoy.resources import XdsResources, unpack

HCM = hcm_pb2.HttpConnectionManager.DESCRIPTOR.full_name


def _inline_routes(listener: Any, resources: XdsResources) -> Any:
    out = listener_pb2.Listener()
    out.CopyFrom(unpack(listener))
    for chain in out.filter_chains:
        for network_filter in chain.filters:
            if not network_filter.typed_config.type_url.endswith(HCM):
                continue
            hcm = hcm_pb2.HttpConnectionManager()
            network_filter.typed_config.Unpack(hcm)
            if hcm.HasField("rds"):
                hcm.route_config.CopyFrom(unpack(resources.routes[hcm.rds.route_config_name]))
            network_filter.typed_config.Pack(hcm)
    return out


def _static_cluster(cluster: Any, resources: XdsResources) -> Any:
    out = cluster_pb2.Cluster()
    out.CopyFrom(unpack(cluster))
    if out.type == cluster_pb2.Cluster.EDS:
        name = out.eds_cluster_config.service_name or out.name
        out.ClearField("eds_cluster_config")
        out.type = cluster_pb2.Cluster.STATIC
        found = resources.endpoints.get(name)
        assignment = unpack(found) if found is not None else None
        out.load_assignment.CopyFrom(
            assignment or endpoint_pb2.ClusterLoadAssignment(cluster_name=out.name)
        )
    return out


def static_bootstrap(resources: XdsResources) -> Any:
    """Every listener, route configuration and cluster of `resources`, inline."""
    bootstrap = bootstrap_pb2.Bootstrap()
    bootstrap.node.id, bootstrap.node.cluster = "validate", "validate"
    for name in sorted(resources.listeners):
        listener = _inline_routes(resources.listeners[name], resources)
        bootstrap.static_resources.listeners.append(listener)
    for name in sorted(resources.clusters):
        cluster = _static_cluster(resources.clusters[name], resources)
        bootstrap.static_resources.clusters.append(cluster)
    return bootstrap


def envoy_validate(bootstrap: Any, timeout: float = 30.0) -> tuple[bool, str]:
    """Run `envoy --mode validate` on `bootstrap`: (accepted, Envoy's output)."""
    text = json_format.MessageToJson(bootstrap, preserving_proto_field_name=True)
    with tempfile.TemporaryDirectory(prefix="legation-validate-") as tmp:
        path = Path(tmp) / "bootstrap.json"
        path.write_text(text)
        proc = subprocess.run(
            [
                str(find_envoy_binary()),
                "--mode", "validate",
                "-c", str(path),
                "--log-level", "error",
                "--base-id", str(os.getpid() % 10000 + 20000),
            ],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    return proc.returncode == 0, proc.stdout + proc.stderr
