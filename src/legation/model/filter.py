"""The `Filter` and `FilterPolicy` kinds, in the shape of Ambassador Edge Stack's
(commercial edition) `getambassador.io` documentation, so its users' manifests load.

A Filter says *what* to do to a request (types `JWT` and `OAuth2` are implemented;
`External`, `Plugin` and `APIKey` load but are not supported yet). A FilterPolicy says
*where*: rules of host and path globs, each naming the Filters that apply (or none).
Fields marked "legation" are extensions the commercial edition does not have.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from legation.model.common import StrictModel
from legation.model.durations import DurationMs
from legation.model.filter_oauth2 import OAuth2FilterSpec


class TemplatedHeader(StrictModel):
    """A header set from a Go template (`{{ .token.Claims.sub }}`)."""

    name: str = Field(min_length=1)
    value: str = ""


class JwtErrorResponse(StrictModel):
    """What a request with a missing or invalid token gets back (a 401)."""

    contentType: str | None = None
    realm: str | None = None
    headers: list[TemplatedHeader] | None = None
    bodyTemplate: str | None = None
    bodyTemplateURL: str | None = None


class TokenHeader(StrictModel):
    """legation: read the token from this header, after `prefix` (e.g. `Bearer `)."""

    name: str = Field(min_length=1)
    prefix: str = ""


class SecretKeyRef(StrictModel):
    """legation: one key of a Secret in the Filter's namespace."""

    name: str = Field(min_length=1)
    key: str = "jwks"


class JwtFilterSpec(StrictModel):
    """`spec.JWT`: validate a bearer token against a JWK set."""

    jwksURI: str | None = None
    """Where the JWK set is fetched (http or https); cached, see `jwksCacheDuration`."""
    insecureTLS: bool = False
    """Fetch the JWK set over https without checking the server's certificate."""
    renegotiateTLS: str = "never"
    """`never`, `onceAsClient` or `freelyAsClient`."""
    validAlgorithms: list[str] | None = None
    audience: str | None = None
    requireAudience: bool = False
    issuer: str | None = None
    requireIssuer: bool = False
    requireIssuedAt: bool = False
    requireExpiresAt: bool = False
    requireNotBefore: bool = False
    leewayForExpiresAt: DurationMs = 0
    leewayForNotBefore: DurationMs = 0
    leewayForIssuedAt: DurationMs = 0
    injectRequestHeaders: list[TemplatedHeader] | None = None
    errorResponse: JwtErrorResponse | None = None
    # legation extensions
    jwks: str | None = None
    """legation: the JWK set itself (JSON), instead of `jwksURI`."""
    jwksSecret: SecretKeyRef | None = None
    """legation: the JWK set from a Secret key (default key `jwks`)."""
    jwksCASecret: str | None = None
    """legation: Secret (`ca.crt`, else `tls.crt`) with the CA the JWKS server's
    certificate must chain to; default: the system's CA bundle."""
    jwksCacheDuration: DurationMs = 300_000
    """legation: how long a fetched JWK set is used before it is fetched again."""
    jwksFetchTimeout: DurationMs = 5_000
    """legation: how long one fetch of the JWK set may take."""
    tokenFromHeaders: list[TokenHeader] | None = None
    """legation: where the token is read; default `Authorization: Bearer <token>`."""
    tokenFromCookies: list[str] | None = None
    """legation: cookies the token may be read from."""
    forwardToken: bool = True
    """legation: keep the token in the request sent upstream (as the commercial edition)."""


class FilterSpec(StrictModel):
    """A Filter: exactly one of the filter types."""

    JWT: JwtFilterSpec | None = None
    OAuth2: OAuth2FilterSpec | None = None
    External: Any = None
    Plugin: Any = None
    APIKey: Any = None


FILTER_TYPES: tuple[str, ...] = ("JWT", "OAuth2", "External", "Plugin", "APIKey")
"""The filter type keys of a Filter's spec."""


class HeaderCondition(StrictModel):
    """`ifRequestHeader`: run the filter only when a request header matches."""

    name: str = Field(min_length=1)
    value: str | None = None
    valueRegex: str | None = None
    negate: bool = False


class FilterRef(StrictModel):
    """One Filter a FilterPolicy rule applies."""

    name: str = Field(min_length=1)
    namespace: str | None = None
    """Default: the FilterPolicy's namespace."""
    onDeny: str = "break"
    onAllow: str = "continue"
    ifRequestHeader: HeaderCondition | None = None
    arguments: dict[str, Any] | None = None


class FilterPolicyRule(StrictModel):
    """Requests whose host and path match these globs get these filters."""

    host: str = "*"
    """Glob on the request's host (`*` matches any run of characters)."""
    path: str = "*"
    """Glob on the request's path (`*` matches any run of characters, `/` included)."""
    precedence: int = 0
    """Higher is tried first; at a tie, the order written."""
    filters: list[FilterRef] | None = None
    """The Filters to run in order; null or empty: none (the request is let through)."""


class FilterPolicySpec(StrictModel):
    """A FilterPolicy: the first rule (across all FilterPolicies) that matches wins."""

    rules: list[FilterPolicyRule] = Field(default_factory=list)
