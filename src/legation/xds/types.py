"""xDS type URLs and the order in which types are pushed (make-before-break)."""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2

_PREFIX = "type.googleapis.com/"

CLUSTER: str = _PREFIX + cluster_pb2.Cluster.DESCRIPTOR.full_name
"""Type URL of ``envoy.config.cluster.v3.Cluster`` (CDS)."""
ENDPOINT: str = _PREFIX + endpoint_pb2.ClusterLoadAssignment.DESCRIPTOR.full_name
"""Type URL of ``envoy.config.endpoint.v3.ClusterLoadAssignment`` (EDS)."""
LISTENER: str = _PREFIX + listener_pb2.Listener.DESCRIPTOR.full_name
"""Type URL of ``envoy.config.listener.v3.Listener`` (LDS)."""
ROUTE: str = _PREFIX + route_pb2.RouteConfiguration.DESCRIPTOR.full_name
"""Type URL of ``envoy.config.route.v3.RouteConfiguration`` (RDS)."""
SECRET: str = _PREFIX + secret_pb2.Secret.DESCRIPTOR.full_name
"""Type URL of ``envoy.extensions.transport_sockets.tls.v3.Secret`` (SDS)."""

PUSH_ORDER: tuple[str, ...] = (SECRET, CLUSTER, ENDPOINT, LISTENER, ROUTE)
"""Order of pushes within one update: secrets (if any), clusters, endpoints, listeners, routes."""

WILDCARD_TYPES: frozenset[str] = frozenset({CLUSTER, LISTENER})
"""Types for which an empty subscription means "everything" (LDS and CDS)."""

WARMING_DEPENDENCIES: dict[str, frozenset[str]] = {
    CLUSTER: frozenset({ENDPOINT, SECRET}),
    LISTENER: frozenset({ROUTE, SECRET}),
}
"""Types a resource waits for while warming: Envoy holds the CDS (LDS) ACK until the
EDS (RDS) and SDS secrets it needs arrive, so those may be sent while that ACK is
outstanding (Envoy asks for a secret only once it holds the listener naming it)."""

HELD_REMOVALS: tuple[str, ...] = (CLUSTER, SECRET)
"""Types whose stale resources are removed only once every other type is up to date,
in this order: clusters, then the secrets that listeners and clusters named."""

NODE_TOKEN_KEY = "legation_token"
"""Node metadata key under which an Envoy presents the run's token to the xDS server."""

SHORT_NAMES: dict[str, str] = {
    SECRET: "secret",
    CLUSTER: "cluster",
    ENDPOINT: "endpoint",
    LISTENER: "listener",
    ROUTE: "route",
}
"""Short human names per type URL, for logs and metrics labels."""


def short_name(type_url: str) -> str:
    """Return a short name for ``type_url`` (``"cluster"``, ...) or the URL itself."""
    return SHORT_NAMES.get(type_url, type_url)
