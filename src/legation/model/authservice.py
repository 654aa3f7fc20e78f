"""The `AuthService` kind: an external authorization service (Envoy's ext_authz).

Every request of a route that does not bypass it is first sent to the service (as an
HTTP request or a gRPC `envoy.service.auth.v3.Authorization/Check`), and only an
answer that allows it lets the request through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from legation.model.common import StrictModel
from legation.model.traffic import CircuitBreakerSpec


class IncludeBodySpec(StrictModel):
    """`include_body`: send (up to `max_bytes` of) the request body to the service."""

    max_bytes: int = Field(ge=1)
    allow_partial: bool = False
    """False: a body over `max_bytes` is answered 413; true: the first bytes are sent."""


ENVOY_STATUS_CODES = frozenset(
    (100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305,
     307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414,
     415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431, 500, 501, 502, 503, 504, 505,
     506, 507, 508, 510, 511)
)  # fmt: skip
"""The statuses Envoy's `envoy.type.v3.StatusCode` names (it refuses any other)."""


class StatusOnErrorSpec(StrictModel):
    """`status_on_error`: the status answered when the service cannot be asked."""

    code: int = 403

    @field_validator("code")
    @classmethod
    def _known(cls, value: int) -> int:
        if value not in ENVOY_STATUS_CODES:
            raise ValueError(f"{value} is not an HTTP status Envoy can answer with")
        return value


class AuthServiceSpec(StrictModel):
    """The fields of an AuthService, shared by every apiVersion (Emissary's names)."""

    auth_service: str = Field(min_length=1)
    """`[http(s)://]host[:port]` of the service."""
    proto: Literal["http", "grpc"] = "http"
    protocol_version: Literal["v2", "v3"] | None = None
    """For `proto: grpc`, must be `v3` (Envoy speaks only `envoy.service.auth.v3`)."""
    path_prefix: str | None = None
    """HTTP only: prepended to the request path sent to the service."""
    timeout_ms: int = Field(default=5000, ge=1)
    connect_timeout_ms: int = Field(default=3000, ge=1)
    """Connect timeout of the auth service's own cluster."""
    allowed_request_headers: list[str] | None = None
    allowed_headers: list[str] | None = None
    """Ambassador 0.x's name for `allowed_request_headers` (both are merged)."""
    allowed_authorization_headers: list[str] | None = None
    add_auth_headers: dict[str, str] | None = None
    """HTTP only: headers added to every request sent to the service."""
    add_linkerd_headers: bool | None = None
    """HTTP only: `l5d-dst-override: host:port` (default: the Module's)."""
    include_body: IncludeBodySpec | None = None
    allow_request_body: bool | None = None
    """Old form of `include_body` (4096 bytes, partial allowed) when that is not set."""
    status_on_error: StatusOnErrorSpec | None = None
    failure_mode_allow: bool = False
    """True: when the service cannot be asked, let the request through."""
    tls: str | bool | None = None
    """A TLSContext name for the connection to the service, or true (TLS, no checks)."""
    circuit_breakers: list[CircuitBreakerSpec] | None = None
    v3CircuitBreakers: list[CircuitBreakerSpec] | None = None
    stats_name: str | None = None
    v3StatsName: str | None = None
    v2ExplicitTLS: Any = None
    """Read and ignored (it only changed how Emissary v2 wrote `tls`)."""


AUTH_ONE_VALUE: tuple[str, ...] = (
    "proto", "protocol_version", "path_prefix", "timeout_ms", "connect_timeout_ms",
    "include_body", "allow_request_body", "status_on_error", "failure_mode_allow", "tls",
    "add_auth_headers", "add_linkerd_headers", "circuit_breakers",
)  # fmt: skip
"""Settings several AuthServices (balanced as one) must agree on; header lists merge."""
