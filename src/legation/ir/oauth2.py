"""OIDC login as the compiler decided it: one `OAuth2Login` per working OAuth2 Filter,
its two generic secrets (client secret, HMAC key), and which routes need which login.
Plain data; Envoy terms appear only as values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from legation.ir.clusters import Cluster
from legation.ir.serialize import REDACTED


@dataclass(frozen=True, slots=True)
class GenericSecret:
    """An SDS `generic_secret`: bytes Envoy uses as a key (never logged or shown)."""

    name: str
    """The SDS resource name, stable for its source."""
    source: str
    """The resource it came from (`Filter/name.namespace` or `Secret/name.namespace`)."""
    content_hash: str
    """SHA-256 (first 16 hex digits) of the bytes: changes exactly when they do."""
    value: bytes = field(default=b"", repr=False, metadata={REDACTED: "<secret>"})


@dataclass(frozen=True, slots=True)
class CookieNames:
    """The session cookies' names: one set per Filter, so two logins never clash."""

    bearer_token: str
    oauth_hmac: str
    oauth_expires: str
    id_token: str
    refresh_token: str
    oauth_nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class OAuth2Login:
    """How one OAuth2 Filter logs a browser in."""

    name: str
    """Stable: from the Filter's key; also the Envoy filter instance's name suffix."""
    filter: str
    """Key of the Filter it came from."""
    client_id: str
    authorization_endpoint: str
    token_endpoint: str
    token_cluster: str
    """Name of the IR cluster for the token endpoint's host and port."""
    redirect_uri: str
    """Absolute URL, or with `%REQ(...)%` parts filled in by Envoy per request."""
    redirect_path: str
    logout_path: str
    token_secret: str
    """SDS name of the client secret."""
    hmac_secret: str
    """SDS name of the key that signs the session cookies."""
    cookies: CookieNames
    scopes: tuple[str, ...] = ("openid",)
    end_session_endpoint: str | None = None
    forward_bearer_token: bool = True
    use_refresh_token: bool = True
    basic_auth: bool = True
    """Client credentials in `Authorization: Basic` (else in the form body)."""
    cookie_domain: str | None = None
    same_site: str | None = None
    """`LAX`, `STRICT` or `NONE` (Envoy's names), or None for no attribute."""


@dataclass(frozen=True, slots=True)
class RouteLogin:
    """What OIDC login one route gets: `login` (the name of an `OAuth2Login`), or
    `failure` (the Filter it depends on cannot work: every request is refused)."""

    login: str | None = None
    failure: str | None = None
    """Why the route fails closed (shown in the diagnostics, not to clients)."""


@dataclass(frozen=True, slots=True)
class OAuth2Gateway:
    """Every OIDC login some route uses, with what Envoy needs for them."""

    logins: tuple[OAuth2Login, ...] = ()
    """Sorted by name."""
    secrets: tuple[GenericSecret, ...] = ()
    """Client secrets and cookie-signing keys, sorted by name."""
    clusters: tuple[Cluster, ...] = ()
    """The token endpoints' clusters, sorted by name."""

    def login(self, name: str) -> OAuth2Login | None:
        """The login called `name`, if any."""
        return next((x for x in self.logins if x.name == name), None)
