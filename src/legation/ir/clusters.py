"""Upstream clusters: where routed traffic goes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Discovery(StrEnum):
    """How Envoy finds the cluster's endpoints."""

    STATIC = "static"
    """The service names an IP address: no DNS needed."""
    STRICT_DNS = "strict_dns"
    """The service names a host name that Envoy resolves."""


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
    mappings: tuple[str, ...] = ()
    """Keys of the Mappings routing to this cluster, sorted."""
