"""The `Module` kind named `ambassador`: gateway-wide settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from legation.model.common import StrictModel
from legation.model.traffic import CircuitBreakerSpec, CorsSpec, LoadBalancerSpec, RetryPolicySpec


class DiagnosticsConfig(StrictModel):
    """`diagnostics`: who may see the diagnostics UI and JSON on the diag port."""

    enabled: bool = True
    """False: served to loopback clients only, whatever `allow_non_local` says."""
    allow_non_local: bool = False
    """True: also served to clients that are not on loopback (probes and /metrics
    always are)."""


class ModuleConfig(StrictModel):
    """Settings of the `ambassador` Module.

    The first group changes what legation generates; the rest load so existing
    manifests keep working, and are reported with a notice until implemented.
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
    # accepted, not implemented yet
    enable_grpc_web: Any = None
    enable_http10: Any = None
    server_name: Any = None
    service_port: Any = None
    x_forwarded_proto_redirect: Any = None
    add_linkerd_headers: Any = None
    cluster_idle_timeout_ms: Any = None
    cluster_max_connection_lifetime_ms: Any = None
    cluster_request_timeout_ms: Any = None
    envoy_validation_timeout: Any = None
    error_response_overrides: Any = None
    header_case_overrides: Any = None
    ip_allow: Any = None
    ip_deny: Any = None
    keepalive: Any = None
    listener_idle_timeout_ms: Any = None
    lua_scripts: Any = None
    max_request_headers_kb: Any = None
    proper_case: Any = None
    readiness_probe: Any = None
    liveness_probe: Any = None
    set_current_client_cert_details: Any = None
    forward_client_cert_details: Any = None
    suppress_envoy_headers: Any = None
    use_ambassador_namespace_for_service_resolution: Any = None
    use_proxy_proto: Any = None
    allow_chunked_length: Any = None
    buffer_limit_bytes: Any = None
    preserve_external_request_id: Any = None
    reject_requests_with_escaped_slashes: Any = None
    enable_ipv4: Any = None
    enable_ipv6: Any = None
    grpc_stats: Any = None
    headers_with_underscores_action: Any = None
    resolver: Any = None
    default_label_domain: Any = None
    default_labels: Any = None


MODULE_IMPLEMENTED: frozenset[str] = frozenset(
    {
        "use_remote_address",
        "xff_num_trusted_hops",
        "merge_slashes",
        "strip_matching_host_port",
        "diagnostics",
        "envoy_log_type",
        "envoy_log_format",
        "envoy_log_path",
        "regex_type",
        "cors",
        "retry_policy",
        "load_balancer",
        "circuit_breakers",
    }
)


class ModuleSpec(StrictModel):
    """A Module's spec: its `config` block."""

    config: ModuleConfig = Field(default_factory=ModuleConfig)
