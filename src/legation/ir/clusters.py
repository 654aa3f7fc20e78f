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
class UpstreamTls:
    """TLS origination settings of a cluster beyond "speak TLS" (from a TLSContext)."""

    sni: str | None = None
    """Server name sent in the ClientHello; None sends the cluster's host."""
    certificate: str | None = None
    """Name of a `Gateway.secrets` certificate presented as the client certificate."""
    trusted_ca: str | None = None
    """Name of a `Gateway.secrets` CA bundle the upstream's certificate must chain to;
    None does not verify the upstream."""
    min_version: str | None = None
    """Envoy's `TlsProtocol` name; None keeps Envoy's default."""
    max_version: str | None = None
    cipher_suites: tuple[str, ...] = ()
    ecdh_curves: tuple[str, ...] = ()
    alpn_protocols: tuple[str, ...] = ()
    context: str | None = None
    """Key of the TLSContext it came from."""
    # Left out of repr: cluster names hash the repr, and these (JWKS clusters only)
    # must not rename the clusters of Mappings.
    system_ca: bool = field(default=False, repr=False)
    """Verify the upstream against the system's CA bundle (when `trusted_ca` is None)."""
    verify_san: str | None = field(default=None, repr=False)
    """A DNS name or IP the upstream's certificate must carry (checked with the CA)."""
    allow_renegotiation: bool = field(default=False, repr=False)
    """Allow the server to renegotiate TLS."""


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
    """Originate TLS to the upstream."""
    upstream_tls: UpstreamTls | None = None
    """Certificates, CA and parameters of that TLS (a Mapping's `tls`); None: plain TLS
    with the host as SNI and no verification."""
    connect_timeout_ms: int = 3000
    options: UpstreamOptions = field(default_factory=UpstreamOptions)
    """Load balancing, limits, health checks, protocol: part of the cluster's identity."""
    mappings: tuple[str, ...] = ()
    """Keys of the Mappings routing to this cluster, sorted."""
