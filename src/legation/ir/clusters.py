"""Upstream clusters: where routed traffic goes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from legation.ir.upstream import UpstreamOptions


class Discovery(StrEnum):
    """How Envoy finds the cluster's endpoints."""

    STATIC = "static"
    """The service names an IP address: no DNS needed."""
    STRICT_DNS = "strict_dns"
    """The service names a host name that Envoy resolves (every address it returns)."""
    LOGICAL_DNS = "logical_dns"
    """A host name; Envoy connects to the first address it resolves to."""
    EDS = "eds"
    """The endpoints arrive separately over EDS (the KubernetesEndpointResolver)."""


@dataclass(frozen=True, slots=True)
class Cluster:
    """One upstream service as Envoy sees it."""

    name: str
    """Stable name derived from the service, never from list positions."""
    service: str
    """The service as written in the Mapping(s), e.g. `http://quote:8080`."""
    host: str
    port: int
    discovery: Discovery
    tls: bool = False
    connect_timeout_ms: int = 3000
    options: UpstreamOptions = field(default_factory=UpstreamOptions)
    """Load balancing, limits, health checks, protocol: part of the cluster's identity."""
    mappings: tuple[str, ...] = ()
    """Keys of the Mappings routing to this cluster, sorted."""
