"""TCP proxying: one listener per TCPMapping port, one filter chain per SNI host."""

from __future__ import annotations

from dataclasses import dataclass

from legation.ir.provenance import Source


@dataclass(frozen=True, slots=True)
class TcpTarget:
    """One member of a TCP weighted group: a cluster and its share of connections."""

    cluster: str
    weight: int
    """Percent of new connections; a group's weights sum to 100."""
    mapping: str
    """`TCPMapping/name.namespace` that contributed this target."""


@dataclass(frozen=True, slots=True)
class TcpRoute:
    """What one (port, host) pair proxies to."""

    host: str | None
    """SNI the TLS ClientHello must carry; None matches every connection."""
    targets: tuple[TcpTarget, ...]
    idle_timeout_ms: int | None
    """None keeps Envoy's default (one hour)."""
    source: Source
    """Where the group's primary TCPMapping was written."""


@dataclass(frozen=True, slots=True)
class TcpListener:
    """An Envoy listener proxying raw TCP, named `tcp-<port>`."""

    name: str
    address: str
    port: int
    routes: tuple[TcpRoute, ...]
    """Host-specific routes first (sorted by host), then the catch-all, if any."""
