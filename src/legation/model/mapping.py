"""The `Mapping` kind: one HTTP route from a path (and more) to a service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from legation.model.common import HeaderSpec, StrictModel


class RegexRewriteSpec(StrictModel):
    """`regex_rewrite`: replace what `pattern` matches in the path by `substitution`."""

    pattern: str
    substitution: str


class MappingSpec(StrictModel):
    """The fields of a Mapping, shared by every apiVersion.

    Fields in `NOT_YET_IMPLEMENTED` are accepted so that existing manifests load, and
    reported with a notice because legation does not act on them yet.
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
    service: str
    timeout_ms: int | None = Field(default=None, ge=0)
    connect_timeout_ms: int | None = Field(default=None, ge=0)
    weight: int | None = Field(default=None, ge=0, le=100)
    # --- rewriting
    rewrite: str | None = "/"
    regex_rewrite: RegexRewriteSpec | None = None
    # --- headers
    add_request_headers: dict[str, HeaderSpec] = Field(default_factory=dict)
    add_response_headers: dict[str, HeaderSpec] = Field(default_factory=dict)
    remove_request_headers: list[str] = Field(default_factory=list)
    remove_response_headers: list[str] = Field(default_factory=list)
    # --- informational
    docs: Any = None
    # --- accepted, not implemented yet (see NOT_YET_IMPLEMENTED)
    resolver: Any = None
    tls: Any = None
    load_balancer: Any = None
    keepalive: Any = None
    health_checks: Any = None
    outlier_detection: Any = None
    circuit_breakers: Any = None
    dns_type: Any = None
    idle_timeout_ms: Any = None
    cluster_idle_timeout_ms: Any = None
    cluster_max_connection_lifetime_ms: Any = None
    host_rewrite: Any = None
    auto_host_rewrite: Any = None
    host_redirect: Any = None
    path_redirect: Any = None
    prefix_redirect: Any = None
    regex_redirect: Any = None
    redirect_response_code: Any = None
    shadow: Any = None
    retry_policy: Any = None
    cors: Any = None
    grpc: Any = None
    allow_upgrade: Any = None
    use_websocket: Any = None
    bypass_auth: Any = None
    auth_context_extensions: Any = None
    labels: Any = None
    stats_name: Any = None
    enable_ipv4: Any = None
    enable_ipv6: Any = None
    add_linkerd_headers: Any = None
    cluster_tag: Any = None
    error_response_overrides: Any = None
    bypass_error_response_overrides: Any = None

    @field_validator("remove_request_headers", "remove_response_headers", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """Ambassador accepts a single header name or a list of them."""
        return [value] if isinstance(value, str) else value

    @field_validator("prefix")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("prefix must not be empty")
        return value

    @field_validator("service")
    @classmethod
    def _service_non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("service must not be empty")
        return value.strip()


NOT_YET_IMPLEMENTED: tuple[str, ...] = (
    "resolver", "tls", "load_balancer", "keepalive", "health_checks", "outlier_detection",
    "circuit_breakers", "dns_type", "idle_timeout_ms", "cluster_idle_timeout_ms",
    "cluster_max_connection_lifetime_ms", "host_rewrite", "auto_host_rewrite", "host_redirect",
    "path_redirect", "prefix_redirect", "regex_redirect", "redirect_response_code", "shadow",
    "retry_policy", "cors", "grpc", "allow_upgrade", "use_websocket", "bypass_auth",
    "auth_context_extensions", "labels", "stats_name", "enable_ipv4", "enable_ipv6",
    "add_linkerd_headers", "cluster_tag", "error_response_overrides",
    "bypass_error_response_overrides",
)  # fmt: skip
"""Mapping fields that load but do not change routing yet; each use gets a notice."""

MappingKind = Literal["Mapping"]
