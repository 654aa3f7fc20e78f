"""The whole compiled gateway: listeners, virtual hosts, routes and clusters."""

from __future__ import annotations

from dataclasses import dataclass, field

from legation.ir.auth import ExtAuthz
from legation.ir.clusters import Cluster
from legation.ir.endpoints import LoadAssignment
from legation.ir.listeners import Listener
from legation.ir.oauth2 import OAuth2Gateway
from legation.ir.observability import LogService, Tracing
from legation.ir.ratelimit import NO_RATE_LIMITING, LocalRateLimit, RateLimiting
from legation.ir.routes import Route
from legation.ir.secrets import Secret


@dataclass(frozen=True, slots=True, eq=False)
class RouteChanges:
    """How a virtual host's routes came from the ones it had before (by identity): a
    hint that spares memos downstream comparing two lists of 10,000 routes."""

    before: tuple[Route, ...]
    after: tuple[Route, ...]
    gone: tuple[Route, ...]
    came: tuple[Route, ...]

    def since(self, routes: tuple[Route, ...], now: tuple[Route, ...]) -> RouteChanges | None:
        """This hint, when it leads from `routes` exactly to `now`; else None."""
        return self if self.before is routes and self.after is now else None


@dataclass(frozen=True, slots=True)
class VirtualHost:
    """A set of domains and the ordered routes that serve them."""

    name: str
    domains: tuple[str, ...]
    routes: tuple[Route, ...]
    local_rate_limit: LocalRateLimit | None = None
    """A token bucket shared by the virtual host's routes (a Host's `local_rate_limit`)."""
    changes: RouteChanges | None = field(default=None, compare=False, repr=False)
    """Optional hint: how `routes` differ from this virtual host's previous routes. Not
    part of the value; memos use it only after checking it by identity."""


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """An RDS route configuration: virtual hosts in match order."""

    name: str
    virtual_hosts: tuple[VirtualHost, ...]


@dataclass(frozen=True, slots=True)
class Gateway:
    """The IR root: everything Envoy needs, in a deterministic order."""

    listeners: tuple[Listener, ...]
    """Every listener: HTTP first, then HTTPS (when a Host terminates TLS), then the
    TCPMapping ports in order."""
    route_configs: tuple[RouteConfig, ...]
    clusters: tuple[Cluster, ...]
    load_assignments: tuple[LoadAssignment, ...] = ()
    """Endpoints of the EDS clusters, sorted by cluster name."""
    secrets: tuple[Secret, ...] = ()
    """Certificates and CA bundles the listeners (and clusters) name, sorted by name."""
    auth: ExtAuthz | None = None
    """External authorization (AuthService) for every HTTP listener; None: none. Its
    cluster is added by the ext_authz filter (envoy/filters/ext_authz.py)."""
    oauth2: OAuth2Gateway = field(default_factory=OAuth2Gateway)
    """OIDC logins (OAuth2 Filters) some route uses, their secrets and token clusters."""
    ratelimit: RateLimiting = NO_RATE_LIMITING
    """The limiter Envoy asks, and the bundled limiter's documents."""
    tracing: Tracing | None = None
    """The TracingService in force: every HTTP connection manager traces with it."""
    log_services: tuple[LogService, ...] = ()
    """LogServices, sorted by key: each gets every connection manager's entries."""
