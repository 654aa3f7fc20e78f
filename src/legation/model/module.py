"""The `Module` kind named `ambassador`: gateway-wide settings."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from legation.model.common import StrictModel


class ModuleConfig(StrictModel):
    """Settings of the `ambassador` Module.

    The first group changes what legation generates; the rest load so existing
    manifests keep working, and are reported with a notice until implemented.
    """

    use_remote_address: bool = True
    xff_num_trusted_hops: int = Field(default=0, ge=0)
    merge_slashes: bool = False
    strip_matching_host_port: bool = False
    # accepted, not implemented yet
    diagnostics: Any = None
    regex_type: Any = None
    cors: Any = None
    retry_policy: Any = None
    load_balancer: Any = None
    circuit_breakers: Any = None
    enable_grpc_web: Any = None
    enable_http10: Any = None
    server_name: Any = None
    service_port: Any = None
    x_forwarded_proto_redirect: Any = None
    add_linkerd_headers: Any = None
    cluster_idle_timeout_ms: Any = None
    cluster_max_connection_lifetime_ms: Any = None
    cluster_request_timeout_ms: Any = None
    envoy_log_type: Any = None
    envoy_log_format: Any = None
    envoy_log_path: Any = None
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
    {"use_remote_address", "xff_num_trusted_hops", "merge_slashes", "strip_matching_host_port"}
)


class ModuleSpec(StrictModel):
    """A Module's spec: its `config` block."""

    config: ModuleConfig = Field(default_factory=ModuleConfig)
