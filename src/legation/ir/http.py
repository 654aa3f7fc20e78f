"""Gateway-wide HTTP settings from the `ambassador` Module: the connection manager's
options, and the optional HTTP filters (compression, buffering, gRPC, Lua, IP rules,
error bodies). Plain data; Envoy terms appear only as values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """Responses with `status` get this body instead (Ambassador's error_response_overrides)."""

    status: int
    text_format: str | None = None
    """A text body; Envoy command operators (`%RESPONSE_CODE%`) are expanded."""
    json_format: tuple[tuple[str, str], ...] = ()
    """A JSON body: key → value (operators expanded), when not empty."""
    text_file: str | None = None
    """Path of a file (on the gateway) holding the text body."""
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Gzip:
    """Compress responses with gzip for clients that accept it; None keeps Envoy's default."""

    memory_level: int | None = None
    min_content_length: int | None = None
    compression_level: str | None = None
    """Envoy's name, e.g. `BEST_COMPRESSION`."""
    compression_strategy: str | None = None
    window_bits: int | None = None
    content_types: tuple[str, ...] = ()
    disable_on_etag_header: bool | None = None
    remove_accept_encoding_header: bool | None = None


@dataclass(frozen=True, slots=True)
class GrpcStats:
    """Per-method gRPC statistics: every method, or only the listed ones."""

    all_methods: bool = False
    services: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    """(service, method names) allowed; None means no allowlist (see `all_methods`)."""
    upstream_stats: bool = False


@dataclass(frozen=True, slots=True)
class IpRule:
    """An address or CIDR range, compared with the client (`remote`) or the peer (`peer`)."""

    kind: str
    """`remote`: the client address after X-Forwarded-For handling; `peer`: the socket's."""
    network: str
    """E.g. `10.0.0.0/8` or `::1/128`."""


@dataclass(frozen=True, slots=True)
class IpPolicy:
    """Only these sources are served (allow), or these are refused (deny), with a 403."""

    allow: bool
    rules: tuple[IpRule, ...]


@dataclass(frozen=True, slots=True)
class HttpFilterSettings:
    """Which optional HTTP filters the listener runs, with their settings."""

    gzip: Gzip | None = None
    buffer_max_request_bytes: int | None = None
    grpc_web: bool = False
    grpc_http1_bridge: bool = False
    grpc_stats: GrpcStats | None = None
    lua_code: str | None = None
    ip_policy: IpPolicy | None = None
    error_responses: tuple[ErrorResponse, ...] = ()
    """Gateway-wide error body rules (routes may replace or bypass them)."""
    route_error_responses: bool = False
    """Some route has its own rules: the filter is needed even without global ones."""
    suppress_envoy_headers: bool = False
    """The router adds no `x-envoy-*` headers."""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """HTTP connection manager options; None keeps Envoy's default."""

    server_name: str | None = None
    """The `server` header of responses (Envoy's default: `envoy`)."""
    proxy_protocol: bool = False
    """Expect the PROXY protocol header on each connection."""
    accept_http_10: bool | None = None
    proper_case_headers: bool = False
    """Write HTTP/1 header names in Proper-Case."""
    allow_chunked_length: bool | None = None
    idle_timeout_ms: int | None = None
    headers_with_underscores: str | None = None
    """ALLOW, REJECT_REQUEST or DROP_HEADER."""
    max_request_headers_kb: int | None = None
    preserve_external_request_id: bool | None = None
    reject_escaped_slashes: bool = False
    forward_client_cert_details: str | None = None
    set_current_client_cert_details: tuple[str, ...] = ()
    """Parts of the client certificate put in x-forwarded-client-cert (subject, cert, ...)."""
    buffer_limit_bytes: int | None = None
    """Per-connection read and write buffer limit."""
