"""The `Module` kind named `ambassador`: gateway-wide settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from legation.model.common import StrictModel
from legation.model.error_response import ErrorResponseSpec
from legation.model.module_filters import (
    BufferSpec,
    ClientCertDetails,
    GrpcStatsSpec,
    GzipSpec,
    IpPrincipal,
)
from legation.model.traffic import (
    CircuitBreakerSpec,
    CorsSpec,
    KeepaliveSpec,
    LoadBalancerSpec,
    RetryPolicySpec,
)


class DiagnosticsConfig(StrictModel):
    """`diagnostics`: who may see the diagnostics UI and JSON on the diag port."""

    enabled: bool = True
    """False: served to loopback clients only, whatever `allow_non_local` says."""
    allow_non_local: bool = False
    """True: also served to clients that are not on loopback (probes and /metrics
    always are)."""


class ModuleConfig(StrictModel):
    """Settings of the `ambassador` Module.

    Every field of Emissary's Module is read. Those in `MODULE_REFUSED` are reported
    with the reason legation does not act on them; those in `MODULE_LATER` belong to
    features not done yet (rate limiting, authentication).
    """

    use_remote_address: bool = True
    xff_num_trusted_hops: int = Field(default=0, ge=0)
    merge_slashes: bool = False
    strip_matching_host_port: bool = False
    diagnostics: DiagnosticsConfig | None = None
    envoy_log_type: Literal["text", "json"] | None = None
    """Access log format: a text line, or a JSON object per request."""
    envoy_log_format: str | dict[str, str] | None = None
    """A text format string (`%START_TIME% ...`), or for `json` a map of key → format."""
    envoy_log_path: str | None = None
    """Where Envoy writes access logs (default `/dev/stdout` once any envoy_log_* is set)."""
    regex_type: Literal["safe", "unsafe"] = "safe"
    """Only RE2 ("safe") regexes exist in current Envoy; `unsafe` is read as safe, with a notice."""
    # defaults for every Mapping that does not set its own
    cors: CorsSpec | None = None
    retry_policy: RetryPolicySpec | None = None
    load_balancer: LoadBalancerSpec | None = None
    circuit_breakers: list[CircuitBreakerSpec] | None = None
    # defaults for every Mapping (continued)
    cluster_request_timeout_ms: int | None = Field(default=None, ge=0)
    """Default `timeout_ms` of Mappings that set none (else 3000)."""
    cluster_idle_timeout_ms: int | None = Field(default=None, ge=0)
    cluster_max_connection_lifetime_ms: int | None = Field(default=None, ge=0)
    keepalive: KeepaliveSpec | None = None
    add_linkerd_headers: bool | None = None
    """Default of Mappings' `add_linkerd_headers` (`l5d-dst-override: host:port`)."""
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    """Which address families Envoy asks DNS for (default of Mappings' own fields)."""
    resolver: str | None = Field(default=None, min_length=1)
    """Name of the resolver for Mappings that name none (else `kubernetes-service`)."""
    defaults: dict[str, Any] | None = None
    """Defaults for Mapping fields, at top level or under `httpmapping` (see README)."""
    # HTTP filters
    gzip: GzipSpec | None = None
    buffer: BufferSpec | None = None
    grpc_stats: GrpcStatsSpec | None = None
    enable_grpc_web: bool | None = None
    enable_grpc_http11_bridge: bool | None = None
    lua_scripts: str | None = None
    """Lua source with `envoy_on_request` / `envoy_on_response`, run on every request."""
    ip_allow: list[IpPrincipal] | None = None
    ip_deny: list[IpPrincipal] | None = None
    error_response_overrides: list[ErrorResponseSpec] | None = None
    suppress_envoy_headers: bool | None = None
    # the HTTP connection manager and listener
    server_name: str | None = None
    use_proxy_proto: bool | None = None
    enable_http10: bool | None = None
    proper_case: bool | None = None
    allow_chunked_length: bool | None = None
    listener_idle_timeout_ms: int | None = Field(default=None, ge=0)
    max_request_headers_kb: int | None = Field(default=None, ge=1, le=8192)
    preserve_external_request_id: bool | None = None
    reject_requests_with_escaped_slashes: bool | None = None
    headers_with_underscores_action: Literal["ALLOW", "REJECT_REQUEST", "DROP_HEADER"] | None = None
    forward_client_cert_details: (
        Literal["SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY"]
        | None
    ) = None
    set_current_client_cert_details: ClientCertDetails | None = None
    buffer_limit_bytes: int | None = Field(default=None, ge=1)
    mapping_stats: bool = True
    """Per-Mapping statistics (each route's `stat_prefix`). Envoy charges them on every
    request, which costs throughput (README, "Per-Mapping stats"); false leaves the
    per-cluster statistics only, as Emissary does."""
    # read, refused (MODULE_REFUSED says why) or left to other work (MODULE_LATER)
    x_forwarded_proto_redirect: Any = None
    header_case_overrides: Any = None
    service_port: Any = None
    admin_port: Any = None
    diag_port: Any = None
    envoy_validation_timeout: Any = None
    readiness_probe: Any = None
    liveness_probe: Any = None
    use_ambassador_namespace_for_service_resolution: Any = None
    regex_max_size: Any = None
    prune_unreachable_routes: Any = None
    debug_mode: Any = None
    statsd: Any = None
    runtime_flags: Any = None
    default_label_domain: str = "ambassador"
    """The rate-limit domain of a RateLimitService that names none."""
    default_labels: Any = None
    """`{domain: {defaults: [action, ...]}}`: descriptor entries put in front of every
    label group of that domain (checked in compile)."""
    auth_enabled: Any = None


MODULE_REFUSED: dict[str, str] = {
    "x_forwarded_proto_redirect": "Emissary 2 and later ignore it as well; redirecting "
    "cleartext requests is a Host's requestPolicy.insecure.action",
    "header_case_overrides": "Envoy has no per-header case rules (Emissary's own Envoy build "
    "adds them); proper_case is supported",
    "service_port": "the HTTP port is set with `legation run --http-port`",
    "admin_port": "Envoy's admin port is set with `legation run --admin-port`",
    "diag_port": "the diagnostics port is set with `legation run --diag-port`",
    "envoy_validation_timeout": "legation does not run `envoy --mode validate`; Envoy's "
    "answer over xDS (ACK or NACK) is the check",
    "readiness_probe": "the probes are served on the diagnostics port "
    "(/ambassador/v0/check_ready); no route is added on the HTTP port",
    "liveness_probe": "the probes are served on the diagnostics port "
    "(/ambassador/v0/check_alive); no route is added on the HTTP port",
    "use_ambassador_namespace_for_service_resolution": "a service name without a namespace "
    "is sent to Envoy as written and resolved by DNS in the gateway's own namespace",
    "regex_max_size": "Envoy's own RE2 program-size limit applies; a pattern over it is "
    "reported as Envoy's rejection",
    "prune_unreachable_routes": "routes are not pruned; a Mapping that no Host serves gets "
    "a notice",
    "debug_mode": "change log levels with `legation loglevel`",
    "statsd": "statistics are served in Prometheus format at /metrics on the diagnostics port",
    "runtime_flags": "Envoy runtime overrides are not passed through",
}
"""Module fields legation reads and deliberately does not act on, and why (in README)."""

MODULE_LATER: frozenset[str] = frozenset({"auth_enabled"})
"""Module fields that belong to authentication, not done yet."""

MODULE_IMPLEMENTED: frozenset[str] = frozenset(
    set(ModuleConfig.model_fields) - set(MODULE_REFUSED) - MODULE_LATER
)
"""Every Module field legation acts on."""


class ModuleSpec(StrictModel):
    """A Module's spec: its `config` block."""

    config: ModuleConfig = Field(default_factory=ModuleConfig)
