"""The `Mapping` kind: one HTTP route from a path (and more) to a service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from legation.model.common import HeaderSpec, ServiceName, StrictModel
from legation.model.error_response import ErrorResponseSpec
from legation.model.ratelimit import LocalRateLimitSpec
from legation.model.traffic import (
    CircuitBreakerSpec,
    CorsSpec,
    HealthCheckSpec,
    KeepaliveSpec,
    LoadBalancerSpec,
    OutlierDetectionSpec,
    RetryPolicySpec,
)


class RegexRewriteSpec(StrictModel):
    """`regex_rewrite`: replace what `pattern` matches in the path by `substitution`."""

    pattern: str
    substitution: str


class MappingSpec(StrictModel):
    """The fields of a Mapping, shared by every apiVersion.

    Every field of Emissary's Mapping is read. Those in `NOT_YET_IMPLEMENTED` belong to
    other work and get a notice; those in `MAPPING_REFUSED` get the reason instead.
    """

    # --- match
    prefix: str
    prefix_regex: bool = False
    prefix_exact: bool = False
    case_sensitive: bool = True
    method: str | None = None
    method_regex: bool = False
    headers: dict[str, str | bool] = Field(default_factory=dict)
    regex_headers: dict[str, str] = Field(default_factory=dict)
    query_parameters: dict[str, str | bool] = Field(default_factory=dict)
    regex_query_parameters: dict[str, str] = Field(default_factory=dict)
    hostname: str | None = None
    host: str | None = None
    host_regex: bool = False
    precedence: int = 0
    # --- upstream
    service: ServiceName
    timeout_ms: int | None = Field(default=None, ge=0)
    connect_timeout_ms: int | None = Field(default=None, ge=0)
    idle_timeout_ms: int | None = Field(default=None, ge=0)
    cluster_idle_timeout_ms: int | None = Field(default=None, ge=0)
    cluster_max_connection_lifetime_ms: int | None = Field(default=None, ge=0)
    weight: int | None = Field(default=None, ge=0, le=100)
    load_balancer: LoadBalancerSpec | None = None
    keepalive: KeepaliveSpec | None = None
    health_checks: list[HealthCheckSpec] | None = None
    outlier_detection: OutlierDetectionSpec | None = None
    circuit_breakers: list[CircuitBreakerSpec] | None = None
    dns_type: Literal["strict_dns", "logical_dns"] | None = None
    grpc: bool = False
    stats_name: str | None = Field(default=None, min_length=1)
    # --- rewriting and redirects
    rewrite: str | None = "/"
    regex_rewrite: RegexRewriteSpec | None = None
    host_rewrite: str | None = Field(default=None, min_length=1)
    auto_host_rewrite: bool = False
    host_redirect: bool = False
    path_redirect: str | None = None
    prefix_redirect: str | None = None
    regex_redirect: RegexRewriteSpec | None = None
    redirect_response_code: Literal[301, 302, 303, 307, 308] | None = None
    # --- traffic
    shadow: bool = False
    retry_policy: RetryPolicySpec | None = None
    cors: CorsSpec | None = None
    allow_upgrade: list[str] = Field(default_factory=list)
    use_websocket: bool = False
    # --- headers
    add_request_headers: dict[str, HeaderSpec] = Field(default_factory=dict)
    add_response_headers: dict[str, HeaderSpec] = Field(default_factory=dict)
    remove_request_headers: list[str] = Field(default_factory=list)
    remove_response_headers: list[str] = Field(default_factory=list)
    # --- informational
    docs: Any = None
    resolver: str | None = None
    """Name of the resolver for `service` (default `kubernetes-service`)."""
    add_linkerd_headers: bool | None = None
    """Add `l5d-dst-override: host:port` for a Linkerd sidecar (default: the Module's)."""
    cluster_tag: str | None = Field(default=None, min_length=1)
    """Mappings to one service with different tags get separate clusters."""
    respect_dns_ttl: bool = False
    """Re-resolve the service's DNS name when its records expire, not on a fixed period."""
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    """Address families asked of DNS (default: the Module's; else IPv4 preferred)."""
    priority: Literal["default", "high"] | None = None
    """Envoy's routing priority: which circuit-breaker thresholds apply."""
    error_response_overrides: list[ErrorResponseSpec] | None = None
    bypass_error_response_overrides: bool = False
    bypass_auth: bool = False
    """The AuthService is not asked for this Mapping's requests."""
    auth_context_extensions: dict[str, str] | None = None
    """Sent to a gRPC AuthService in the check request's `context_extensions`."""
    labels: Any = None
    """Rate-limit descriptors: `{domain: [{group name: [action, ...]}, ...]}`; checked
    in compile, so a bad action is an error naming its place."""
    local_rate_limit: LocalRateLimitSpec | None = None
    """legation's own: a token bucket per Envoy for this Mapping's route."""
    # --- read, refused (MAPPING_REFUSED) or not implemented yet (NOT_YET_IMPLEMENTED)
    envoy_override: Any = None
    tls: Any = None
    """A TLSContext name (client certificate, CA, SNI, versions), or true: originate TLS
    to the service (port 443 by default)."""
    rate_limits: Any = None

    @field_validator(
        "remove_request_headers", "remove_response_headers", "allow_upgrade", mode="before"
    )
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """Ambassador accepts a single name or a list of them."""
        return [value] if isinstance(value, str) else value

    @field_validator("health_checks")
    @classmethod
    def _one_health_check(cls, value: list[HealthCheckSpec] | None) -> Any:
        # Envoy 1.40 wants a name on each of several health checks; the API version
        # legation builds with (xds-protos 1.85) has no such field.
        if value is not None and len(value) > 1:
            raise ValueError("only one health check per Mapping is supported")
        return value

    @field_validator("prefix")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("prefix must not be empty")
        return value


NOT_YET_IMPLEMENTED: tuple[str, ...] = (
    "rate_limits",
)  # fmt: skip
"""Mapping fields that belong to other work (the v1 `rate_limits`):
they load, and each use gets a notice."""

MAPPING_REFUSED: dict[str, str] = {
    "envoy_override": "raw Envoy route configuration is not merged into the routes legation "
    "generates",
}
"""Mapping fields legation reads and deliberately does not act on, and why (in README)."""

MappingKind = Literal["Mapping"]
