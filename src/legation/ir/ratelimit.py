"""Rate limiting in the IR: the limiter a gateway asks (RateLimitService), the
descriptors each route sends it (from Mapping `labels`), local token buckets, and the
documents legation generates for the bundled limiter (from RateLimit resources).

Plain data; Envoy terms appear only as values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from legation.ir.clusters import Cluster


class DescriptorKind(StrEnum):
    """Where a descriptor entry's value comes from (Envoy's rate limit actions)."""

    SOURCE_CLUSTER = "source_cluster"
    DESTINATION_CLUSTER = "destination_cluster"
    REMOTE_ADDRESS = "remote_address"
    GENERIC_KEY = "generic_key"
    REQUEST_HEADERS = "request_headers"


@dataclass(frozen=True, slots=True)
class DescriptorAction:
    """One entry of a descriptor: its key and where its value comes from."""

    kind: DescriptorKind
    key: str
    value: str = ""
    """generic_key: the fixed value."""
    header: str = ""
    """request_headers: the header whose value is sent (absent: the group is skipped)."""
    skip_if_absent: bool = False
    """request_headers (`omit_if_not_present`): an absent header leaves out only this
    entry, not the whole group."""


LabelGroup = tuple[DescriptorAction, ...]
"""One descriptor (a Mapping label group): Envoy sends it when every entry has a value."""


@dataclass(frozen=True, slots=True)
class DomainLabels:
    """A Mapping's label groups for one domain (only the limiter's domain is used)."""

    domain: str
    groups: tuple[LabelGroup, ...]


@dataclass(frozen=True, slots=True)
class LocalRateLimit:
    """A token bucket in each Envoy (legation's `local_rate_limit`): `tokens` requests
    every `fill_interval_ms`, up to `max_tokens` at once."""

    tokens: int
    fill_interval_ms: int
    max_tokens: int


@dataclass(frozen=True, slots=True)
class RateLimitService:
    """The limiter Envoy asks about every request with descriptors."""

    source: str
    """Key of the RateLimitService resource (or `bundled` for `legation run`'s own)."""
    cluster: Cluster
    """An HTTP/2 (gRPC) cluster of its own, never shared with routes."""
    domain: str
    failure_mode_deny: bool = False
    """True: 500 when the limiter cannot answer; False: the request passes."""
    timeout_ms: int = 20
    default_labels: LabelGroup = ()
    """The Module's `default_labels` for this domain, put in front of every group."""


@dataclass(frozen=True, slots=True)
class LimiterDocument:
    """The bundled limiter's configuration for one domain, as the YAML it reads."""

    domain: str
    text: str


@dataclass(frozen=True, slots=True)
class RateLimiting:
    """Everything about rate limiting that is not per route."""

    service: RateLimitService | None = None
    documents: tuple[LimiterDocument, ...] = ()
    """From RateLimit resources, sorted by domain; written by the runtime."""


NO_RATE_LIMITING = RateLimiting()
"""No limiter and no documents: the default."""


RouteLimitState = tuple[str, LabelGroup] | None
"""What a route's descriptors depend on besides the route: the limiter's domain and
the default labels (None: no limiter, no descriptors)."""


def limit_state(service: RateLimitService | None) -> RouteLimitState:
    """The gateway-level part of every route's descriptors."""
    return None if service is None else (service.domain, service.default_labels)


def route_groups(
    labels: tuple[DomainLabels, ...], state: RouteLimitState
) -> tuple[LabelGroup, ...]:
    """The descriptors Envoy sends for a route with these labels: the groups of the
    limiter's domain, each with the default labels in front (the defaults alone when
    the route has no group)."""
    if state is None:
        return ()
    domain, defaults = state
    groups: tuple[LabelGroup, ...] = ()
    for found in labels:
        if found.domain == domain:
            groups = found.groups
    if not defaults:
        return groups
    return tuple(defaults + g for g in groups) if groups else (defaults,)
