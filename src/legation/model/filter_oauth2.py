"""`spec.OAuth2` of a `Filter`: OIDC login (the authorization-code flow) in front of routes.

The fields are those of Ambassador Edge Stack's documented `OAuth2` Filter, so its users'
manifests load; the ones legation cannot honour are accepted and reported as notices
(`UNSUPPORTED`). Fields marked "legation" are extensions the commercial edition does not
have: the provider's endpoints (optional: without them they come from the provider's
discovery document, see model/oidc_discovery.py and README "OIDC login"), scopes on the
Filter, cookie settings and the logout path.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from legation.model.common import StrictModel

REDIRECT_PATH = "/.ambassador/oauth2/redirection-endpoint"
"""Where the provider sends the browser back with the code (as in the commercial edition)."""

LOGOUT_PATH = "/.ambassador/oauth2/logout"
"""Default path that clears the session cookies (legation: any method, no XSRF form)."""

CLIENT_SECRET_KEY = "oauth2-client-secret"
"""The key of a `secretName` Secret that holds the client secret (as in the commercial
edition)."""


class ProtectedOrigin(StrictModel):
    """An origin (scheme://host[:port]) whose pages the filter protects."""

    origin: str = Field(min_length=1)
    includeSubdomains: bool = False
    internalOrigin: str | None = None


class ClientAuthentication(StrictModel):
    """How the client authenticates to the token endpoint."""

    method: str = "HeaderPasswordBasic"
    """`HeaderPasswordBasic` (HTTP Basic, the default) or, legation, `BodyPassword`
    (`client_id` and `client_secret` in the form body)."""


class OAuth2FilterSpec(StrictModel):
    """`spec.OAuth2`: log the browser in at an OpenID provider, keep the session in cookies."""

    authorizationURL: str | None = None
    """The provider's issuer URL (absolute http or https), required; its discovery
    document gives the endpoints the Filter does not."""
    clientID: str | None = None
    """The OAuth2 client registered at the provider, required."""
    secret: str | None = None
    """The client secret itself (prefer `secretName`)."""
    secretName: str | None = None
    """A Secret holding the client secret under `oauth2-client-secret`."""
    secretNamespace: str | None = None
    """The Secret's namespace (default: the Filter's)."""
    protectedOrigins: list[ProtectedOrigin] | None = None
    """The first one is where the provider redirects back to."""
    clientURL: str | None = None
    """Deprecated in the commercial edition: one protected origin."""
    grantType: str = "AuthorizationCode"
    clientAuthentication: ClientAuthentication | None = None
    # Accepted, not honoured (reported as notices):
    extraAuthorizationParameters: dict[str, str] | None = None
    accessTokenValidation: str | None = None
    accessTokenJWTFilter: Any = None
    injectRequestHeaders: Any = None
    allowMalformedAccessToken: bool | None = None
    expirationSafetyMargin: str | None = None
    stateTTL: str | None = None
    useSessionCookies: Any = None
    insecureTLS: bool | None = None
    renegotiateTLS: str | None = None
    maxStale: str | None = None
    audience: str | None = None
    # legation extensions
    authorizationEndpoint: str | None = None
    """legation: the provider's `authorization_endpoint` (default: from its discovery
    document)."""
    tokenEndpoint: str | None = None
    """legation: the provider's `token_endpoint` (default: from its discovery document)."""
    endSessionEndpoint: str | None = None
    """legation: the provider's `end_session_endpoint`, where logout then goes (default:
    from the discovery document, when that is used)."""
    scopes: list[str] | None = None
    """legation: the scopes asked for (default `openid`; `openid` is always added)."""
    logoutPath: str = LOGOUT_PATH
    """legation: requests to this path clear the session and redirect."""
    forwardBearerToken: bool = True
    """legation: send the access token upstream as `Authorization: Bearer`."""
    useRefreshToken: bool = True
    """legation: renew an expired access token with the refresh token, without a login."""
    cookieDomain: str | None = None
    """legation: the session cookies' `Domain` (default: the request's host only)."""
    cookieSameSite: str | None = None
    """legation: `Lax`, `Strict` or `None` on the session cookies (default: unset)."""


UNSUPPORTED: tuple[str, ...] = (
    "extraAuthorizationParameters",
    "accessTokenValidation",
    "accessTokenJWTFilter",
    "injectRequestHeaders",
    "allowMalformedAccessToken",
    "expirationSafetyMargin",
    "stateTTL",
    "useSessionCookies",
    "insecureTLS",
    "renegotiateTLS",
    "maxStale",
    "audience",
)
"""Fields of the commercial edition that load but have no effect here."""
