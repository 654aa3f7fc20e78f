"""Route-level traffic policies: retries, CORS, hashing, upgrades, host rewrite,
redirects and mirrors. Plain data; Envoy terms appear only as values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from legation.ir.http import ErrorResponse
from legation.ir.jwt import RouteJwt
from legation.ir.oauth2 import RouteLogin
from legation.ir.ratelimit import DomainLabels, LocalRateLimit


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When Envoy retries a failed request, how often, and how long each try may take."""

    retry_on: str
    """Comma-separated Envoy retry conditions, e.g. `5xx,connect-failure`."""
    num_retries: int | None = None
    per_try_timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class CorsPolicy:
    """Cross-origin resource sharing for a route; `*` in `origins` allows any origin."""

    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    exposed_headers: tuple[str, ...] = ()
    credentials: bool | None = None
    max_age: str | None = None
    """Seconds a browser may cache a preflight answer, as written."""


class HashOn(StrEnum):
    """What a consistent-hash load balancer (ring_hash, maglev) hashes."""

    COOKIE = "cookie"
    HEADER = "header"
    SOURCE_IP = "source_ip"


@dataclass(frozen=True, slots=True)
class HashPolicy:
    """Session affinity: requests with the same hash key go to the same endpoint."""

    on: HashOn
    name: str = ""
    """The cookie or header name (empty for source_ip)."""
    cookie_path: str | None = None
    cookie_ttl_ms: int | None = None
    """When set, Envoy creates the cookie if the request has none."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """Answer with a redirect instead of proxying (Ambassador's `host_redirect`)."""

    host: str
    port: int | None = None
    """Port for the Location URL; None keeps the request's."""
    https: bool = False
    path: str | None = None
    """Replaces the whole path."""
    prefix: str | None = None
    """Replaces the matched prefix."""
    regex_pattern: str | None = None
    regex_substitution: str | None = None
    response_code: int = 301


@dataclass(frozen=True, slots=True)
class RouteOptions:
    """Everything a route does besides matching and choosing weighted clusters."""

    retry: RetryPolicy | None = None
    cors: CorsPolicy | None = None
    hash_policy: HashPolicy | None = None
    upgrades: tuple[str, ...] = ()
    """Connection upgrades allowed on the route, e.g. `websocket`."""
    host_rewrite: str | None = None
    auto_host_rewrite: bool = False
    """Send the upstream endpoint's host name as Host."""
    idle_timeout_ms: int | None = None
    redirect: Redirect | None = None
    high_priority: bool = False
    """Envoy's HIGH routing priority (its own circuit-breaker thresholds)."""
    error_responses: tuple[ErrorResponse, ...] | None = None
    """The route's own error body rules, in place of the gateway's; None: the gateway's."""
    bypass_error_responses: bool = False
    """No error body rules apply to this route."""
    bypass_auth: bool = False
    """The AuthService is not asked for this route's requests (Mapping `bypass_auth`)."""
    auth_context_extensions: tuple[tuple[str, str], ...] = ()
    """Sent to a gRPC AuthService in the check request's `context_extensions`, sorted."""
    jwt: RouteJwt | None = None
    """JWT validation decided by FilterPolicies; None: there are none."""
    oauth2: RouteLogin | None = None
    """OIDC login decided by FilterPolicies; None: the route needs none."""
    labels: tuple[DomainLabels, ...] = ()
    """Rate-limit descriptors by domain (Mapping `labels`); the limiter's domain is used."""
    local_rate_limit: LocalRateLimit | None = None
    """A token bucket in each Envoy for this route (Mapping `local_rate_limit`)."""


@dataclass(frozen=True, slots=True)
class Mirror:
    """A shadow: a copy of each request (or `percent` of them) sent to another cluster."""

    cluster: str
    percent: int
    mapping: str
    """Key of the shadow Mapping."""
