"""External authorization (AuthService → Envoy ext_authz): one per gateway.

Several AuthServices are balanced as one: their settings must agree, each adds an
endpoint to the one auth cluster, and their header lists are merged (as Emissary).
Plain data; Envoy terms appear only as values.
"""

from __future__ import annotations

from dataclasses import dataclass

from legation.ir.clusters import Cluster
from legation.ir.routes import ACME_PREFIX, PathKind, Route

ALWAYS_REQUEST_HEADERS: tuple[str, ...] = (
    "authorization", "cookie", "from", "proxy-authorization", "user-agent",
    "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
)  # fmt: skip
"""Request headers always sent to an HTTP auth service (besides the allowed ones)."""

ALWAYS_AUTHORIZATION_HEADERS: tuple[str, ...] = (
    "authorization", "location", "proxy-authenticate", "set-cookie", "www-authenticate",
)  # fmt: skip
"""Headers of the auth answer always copied (to the upstream request, or the client)."""


@dataclass(frozen=True, slots=True)
class IncludeBody:
    """Send the request body (up to `max_bytes`) to the auth service."""

    max_bytes: int
    allow_partial: bool = False
    """False: a larger body is answered 413."""


@dataclass(frozen=True, slots=True)
class ExtAuthz:
    """The gateway's external authorization: who is asked, how, and what if it fails."""

    proto: str
    """`http` or `grpc` (envoy.service.auth.v3)."""
    cluster: Cluster
    """The auth service's own cluster (its connect timeout, circuit breakers, TLS)."""
    endpoints: tuple[tuple[str, int], ...]
    """Every AuthService's host and port, balanced; empty when the configuration cannot
    work (then every check fails, and `failure_mode_allow` is false: closed)."""
    sources: tuple[str, ...]
    """Keys of the AuthServices this came from, sorted."""
    timeout_ms: int = 5000
    path_prefix: str = ""
    allowed_request_headers: tuple[str, ...] = ALWAYS_REQUEST_HEADERS
    """Lower-case, sorted; HTTP only."""
    allowed_authorization_headers: tuple[str, ...] = ALWAYS_AUTHORIZATION_HEADERS
    """Lower-case, sorted; HTTP only."""
    add_auth_headers: tuple[tuple[str, str], ...] = ()
    """Added to every check request (HTTP only), with `l5d-dst-override` when asked."""
    include_body: IncludeBody | None = None
    status_on_error: int = 403
    failure_mode_allow: bool = False
    broken: str | None = None
    """Why the configuration cannot work (its requests are refused), or None."""


def bypass_reason(route: Route) -> str | None:
    """Why the route never calls the auth service, or None when it does."""
    if route.options.bypass_auth:
        return "bypass_auth"
    if route.options.redirect is not None:  # a Host's HTTPS redirect too
        return "redirect"
    path = route.match.path
    if path.kind is PathKind.PREFIX and path.value.startswith(ACME_PREFIX):
        return "acme-challenge"  # certificate issuers come without credentials
    return None
