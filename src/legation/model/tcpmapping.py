"""The `TCPMapping` kind: plain TCP proxying from a port of the gateway to a service."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from legation.model.common import ServiceName, StrictModel


class TCPMappingSpec(StrictModel):
    """The fields of a TCPMapping, shared by every apiVersion."""

    port: int = Field(ge=1, le=65535)
    """The gateway port: a listener of its own, a TCP / TLS Listener's, or (with
    `host`) the HTTPS port."""
    service: ServiceName
    """`host:port` to proxy to."""
    host: str | None = None
    """SNI to match; TLS is terminated with a Host's or TLSContext's certificate for
    it, or passed through without one (compile/tcp_tls.py)."""
    address: str | None = None
    """Address to bind; defaults to the gateway's listen address."""
    weight: int | None = Field(default=None, ge=0, le=100)
    idle_timeout_ms: int | None = Field(default=None, ge=0)
    docs: Any = None
    tls: Any = None
    """A TLSContext name, or true: originate TLS to the service (port 443 by default)."""
    # accepted, not implemented yet (see TCP_NOT_YET_IMPLEMENTED)
    resolver: Any = None
    circuit_breakers: Any = None
    enable_ipv4: Any = None
    enable_ipv6: Any = None
    cluster_tag: Any = None
    stats_name: Any = None


TCP_NOT_YET_IMPLEMENTED: tuple[str, ...] = (
    "resolver", "circuit_breakers", "enable_ipv4", "enable_ipv6", "cluster_tag",
    "stats_name",
)  # fmt: skip
"""TCPMapping fields that load but have no effect yet; each use gets a notice."""
