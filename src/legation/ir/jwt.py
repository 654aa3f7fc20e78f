"""JWT validation as the compiler decided it: providers (one per JWT Filter), which
routes need which, and path rules for routes a FilterPolicy only partly covers.
Plain data; Envoy terms appear only as values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class RemoteJwks:
    """A JWK set fetched over HTTP(S) through a cluster of the gateway."""

    uri: str
    cluster: str
    """Name of the IR cluster for the JWKS server's host and port."""
    cache_duration_ms: int
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class TokenSource:
    """A header the token is read from, after `prefix`."""

    header: str
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class ClaimHeader:
    """A claim of a valid token copied to a request header."""

    header: str
    claim: str
    """The claim's name; nested claims are written `a.b`."""


@dataclass(frozen=True, slots=True)
class JwtErrorResponse:
    """What a refused request gets instead of Envoy's plain 401 (Envoy format strings:
    `%LOCAL_REPLY_BODY%` is Envoy's reason, `%RESPONSE_CODE%` the status)."""

    body: str | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class JwtProvider:
    """How one JWT Filter validates tokens."""

    name: str
    """Stable: from the Filter's key."""
    filter: str
    """Key of the Filter it came from."""
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    remote_jwks: RemoteJwks | None = None
    local_jwks: str | None = None
    """The JWK set itself (JSON), when it is not fetched."""
    headers: tuple[TokenSource, ...] = ()
    """Empty: Envoy's default, `Authorization: Bearer`."""
    cookies: tuple[str, ...] = ()
    forward: bool = True
    require_expiration: bool = False
    required_claims: tuple[str, ...] = ()
    """Claims a token must carry (`iat`, `nbf`), beyond what Envoy requires itself
    (Envoy checks `nbf` when it is there but cannot require it)."""
    clock_skew_seconds: int = 1
    claim_headers: tuple[ClaimHeader, ...] = ()
    error_response: JwtErrorResponse | None = None


@dataclass(frozen=True, slots=True)
class JwtRequirement:
    """A named requirement: every listed provider must accept the request's token(s)."""

    name: str
    providers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RouteJwt:
    """What JWT validation one route gets.

    Exactly one of: `requirement` (the route's requests must satisfy it), `disabled`
    (no validation), `by_rules` (the listener's path rules decide), `failure` (the
    filter the route depends on cannot work: every request is refused).
    """

    requirement: str | None = None
    disabled: bool = False
    by_rules: bool = False
    failure: str | None = None
    """Why the route fails closed (shown in the diagnostics, not to clients)."""


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    """A request header test (a FilterPolicy's `ifRequestHeader`): the header has the
    value (`exact`), matches `regex`, or, with neither, is there and not empty;
    `invert` turns the test around (an absent header then passes)."""

    name: str
    exact: str | None = None
    regex: str | None = None
    invert: bool = False


@dataclass(frozen=True, slots=True)
class RulePath:
    """How a path rule compares the request path (a literal when the glob allows)."""

    kind: Literal["exact", "prefix", "regex"]
    value: str


@dataclass(frozen=True, slots=True)
class JwtRule:
    """A path rule: requests matching `path` (and `host_regex` on the authority, and
    every header condition) need `requirement` (None: no validation). The first
    matching rule applies."""

    path: RulePath
    host_regex: str | None = None
    requirement: str | None = None
    headers: tuple[HeaderCondition, ...] = ()


@dataclass(frozen=True, slots=True)
class JwtAuthn:
    """The JWT filter of one listener: its providers, requirements and path rules."""

    providers: tuple[JwtProvider, ...]
    requirements: tuple[JwtRequirement, ...]
    rules: tuple[JwtRule, ...] = ()
