"""Cluster-level upstream settings: load balancing, limits, health, connections."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class IpFamily(StrEnum):
    """Which address families a DNS cluster uses."""

    V4_ONLY = "v4_only"
    V6_ONLY = "v6_only"
    AUTO = "auto"
    """IPv6 preferred, IPv4 when there is no IPv6 address."""


class LbPolicy(StrEnum):
    """How a cluster spreads requests over its endpoints."""

    ROUND_ROBIN = "round_robin"
    LEAST_REQUEST = "least_request"
    RING_HASH = "ring_hash"
    MAGLEV = "maglev"


@dataclass(frozen=True, slots=True)
class CircuitBreaker:
    """Limits for one routing priority (`default` or `high`); None keeps Envoy's default."""

    priority: str = "default"
    max_connections: int | None = None
    max_pending_requests: int | None = None
    max_requests: int | None = None
    max_retries: int | None = None


@dataclass(frozen=True, slots=True)
class OutlierDetection:
    """Passive health: eject endpoints that keep failing; None keeps Envoy's default."""

    consecutive_5xx: int | None = None
    consecutive_gateway_failure: int | None = None
    enforcing_consecutive_5xx: int | None = None
    enforcing_consecutive_gateway_failure: int | None = None
    interval_ms: int | None = None
    base_ejection_time_ms: int | None = None
    max_ejection_time_ms: int | None = None
    max_ejection_percent: int | None = None


class HealthCheckKind(StrEnum):
    """The protocol of an active health check."""

    HTTP = "http"
    GRPC = "grpc"
    TCP = "tcp"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """An active health check of every endpoint of the cluster."""

    kind: HealthCheckKind
    timeout_ms: int
    interval_ms: int
    healthy_threshold: int
    unhealthy_threshold: int
    path: str | None = None
    """HTTP: the path requested."""
    host: str | None = None
    """HTTP: Host header; gRPC: authority."""
    add_headers: tuple[tuple[str, str, bool], ...] = ()
    """HTTP: (name, value, append) headers added to the check request."""
    remove_headers: tuple[str, ...] = ()
    expected_statuses: tuple[tuple[int, int], ...] = ()
    """HTTP: inclusive (min, max) ranges of healthy statuses; empty means 200 only."""
    service_name: str | None = None
    """gRPC: the service name asked about."""
    send: str | None = None
    """TCP: text sent after connecting."""
    receive: tuple[str, ...] = ()
    """TCP: text expected back."""


@dataclass(frozen=True, slots=True)
class Keepalive:
    """TCP keepalive on upstream connections, in seconds; None keeps the OS default."""

    idle_time: int | None = None
    interval: int | None = None
    probes: int | None = None


@dataclass(frozen=True, slots=True)
class UpstreamOptions:
    """Cluster settings beyond address and discovery; part of a cluster's identity."""

    lb_policy: LbPolicy = LbPolicy.ROUND_ROBIN
    circuit_breakers: tuple[CircuitBreaker, ...] = ()
    outlier_detection: OutlierDetection | None = None
    health_checks: tuple[HealthCheck, ...] = ()
    keepalive: Keepalive | None = None
    http2: bool = False
    """Speak HTTP/2 to the upstream (gRPC)."""
    idle_timeout_ms: int | None = None
    """Close upstream connections idle this long."""
    max_connection_lifetime_ms: int | None = None
    stats_name: str | None = None
    """Envoy's `alt_stat_name`: the name used in the cluster's statistics."""
    # The fields below stay out of repr(), which names clusters (compile/service.py): they
    # are added to the name only when set, so older cluster names do not change.
    respect_dns_ttl: bool = field(default=False, repr=False)
    """Re-resolve when DNS records expire instead of at Envoy's fixed refresh rate."""
    ip_family: IpFamily | None = field(default=None, repr=False)
    """Address families asked of DNS; None keeps legation's default (IPv4 preferred)."""
    tag: str | None = field(default=None, repr=False)
    """The Mapping's `cluster_tag`: only there to keep tagged clusters apart."""
