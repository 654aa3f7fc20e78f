"""TCP proxying: what a TCPMapping filter chain sends its connections to."""

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
class TcpProxy:
    """What one (port, host) pair proxies to."""

    stat_prefix: str
    targets: tuple[TcpTarget, ...]
    idle_timeout_ms: int | None
    """None keeps Envoy's default (one hour)."""
    source: Source
    """Where the group's primary TCPMapping was written."""
