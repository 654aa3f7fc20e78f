"""OAuth2 Filters → IR logins (`OAuth2Login`), their secrets and token-endpoint clusters.

Pure: the provider's endpoints come from the Filter (legation fields
`authorizationEndpoint` / `tokenEndpoint`) or, when it names only the issuer, from the
provider's discovery document, which the caller fetched (`Snapshot.discovery`); never
from a network call here. A Filter that
cannot work is reported on its fields and left out of `logins`; its key goes to
`broken` with the reason, so routes that name it fail closed.

The HMAC key that signs the session cookies is derived from the client secret and the
Filter's key (HMAC-SHA256): stable across restarts and replicas, so sessions survive
them, and it changes when the client secret does.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from legation.compile.service import cluster_for, url_address
from legation.ir.clusters import Cluster, UpstreamTls
from legation.ir.errors import ConfigProblem
from legation.ir.oauth2 import CookieNames, GenericSecret, OAuth2Login
from legation.model.filter_oauth2 import (
    CLIENT_SECRET_KEY,
    REDIRECT_PATH,
    UNSUPPORTED,
    OAuth2FilterSpec,
)
from legation.model.oidc_discovery import (
    ENDPOINT_FIELDS,
    Discovered,
    OidcDiscovery,
    discovery_url,
)
from legation.model.resource import Resource
from legation.model.secret import SecretSpec

SAME_SITE = {"lax": "LAX", "strict": "STRICT", "none": "NONE"}
CLIENT_AUTH = {"headerpasswordbasic": True, "bodypassword": False}
OWN_FIELDS = {
    "authorization_endpoint": "authorizationEndpoint",
    "token_endpoint": "tokenEndpoint",
    "end_session_endpoint": "endSessionEndpoint",
}
"""Each endpoint's name in a discovery document → the Filter's field that overrides it."""
REQUEST_ORIGIN = "%REQ(x-forwarded-proto)%://%REQ(:authority)%"
"""The redirect URI's origin when no `protectedOrigins` is given: the request's own."""


@dataclass
class OAuth2Logins:
    """What the OAuth2 Filters compiled to."""

    logins: dict[str, OAuth2Login] = field(default_factory=dict)
    """By Filter key."""
    broken: dict[str, str] = field(default_factory=dict)
    """Filter key → why it cannot work."""
    secrets: list[GenericSecret] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def login_name(res: Resource[Any]) -> str:
    """The login's stable name: the Filter's `name.namespace`."""
    return f"{res.name}.{res.namespace}"


def compile_oauth2_filters(
    filters: Iterable[tuple[Resource[Any], OAuth2FilterSpec]],
    secrets: Mapping[tuple[str, str], Resource[SecretSpec]],
    discovery: Discovered | None = None,
) -> OAuth2Logins:
    """Every OAuth2 Filter (with its `spec.OAuth2`), in the order given; `discovery`
    holds the discovery documents of the issuers of those that need one."""
    discovery = discovery or {}
    out = OAuth2Logins()
    for res, spec in filters:
        for name in UNSUPPORTED:
            if getattr(spec, name) is not None:
                out.problems.append(
                    res.problem(f"OAuth2.{name}", "is not supported; ignored", notice=True)
                )
        _compile_one(res, spec, secrets, discovery, out)
    return out


def _compile_one(
    res: Resource[Any],
    spec: OAuth2FilterSpec,
    secrets: Mapping[tuple[str, str], Resource[SecretSpec]],
    discovery: Discovered,
    out: OAuth2Logins,
) -> None:
    errors: list[tuple[str, str]] = []
    endpoints = _endpoints(res, spec, discovery, out, errors)
    client_secret = _client_secret(res, spec, secrets, errors)
    redirect_origin = _redirect_origin(spec, errors)
    options = _options(spec, errors)
    if not spec.clientID:
        errors.append(("OAuth2.clientID", "is required: the client registered at the provider"))
    if errors or endpoints is None or client_secret is None or options is None:
        for fld, message in errors:
            out.problems.append(res.problem(fld, message))
        out.broken[res.key] = "; ".join(f"{f}: {m}" for f, m in errors)
        return
    authorize, token, end_session, cluster = endpoints
    name = login_name(res)
    token_secret = _secret(f"oauth2/{name}/client-secret", res, client_secret)
    hmac_key = hmac.new(client_secret, b"legation oauth2 cookies " + name.encode(), "sha256")
    hmac_secret = _secret(f"oauth2/{name}/hmac", res, hmac_key.digest())
    out.secrets += [token_secret, hmac_secret]
    out.clusters.append(replace(cluster, mappings=(res.key,)))
    basic_auth, same_site = options
    out.logins[res.key] = OAuth2Login(
        name=name,
        filter=res.key,
        client_id=spec.clientID or "",
        authorization_endpoint=authorize,
        token_endpoint=token,
        token_cluster=cluster.name,
        redirect_uri=redirect_origin + REDIRECT_PATH,
        redirect_path=REDIRECT_PATH,
        logout_path=spec.logoutPath,
        token_secret=token_secret.name,
        hmac_secret=hmac_secret.name,
        cookies=cookie_names(name),
        scopes=_scopes(spec),
        end_session_endpoint=end_session,
        forward_bearer_token=spec.forwardBearerToken,
        use_refresh_token=spec.useRefreshToken,
        basic_auth=basic_auth,
        cookie_domain=spec.cookieDomain,
        same_site=same_site,
    )


def cookie_names(name: str) -> CookieNames:
    """Envoy's cookie names with the login's name appended (`BearerToken.name.ns`)."""
    return CookieNames(
        *(
            f"{base}.{name}"
            for base in (
                "BearerToken",
                "OauthHMAC",
                "OauthExpires",
                "IdToken",
                "RefreshToken",
                "OauthNonce",
                "CodeVerifier",
            )
        )
    )


def _secret(name: str, res: Resource[Any], value: bytes) -> GenericSecret:
    digest = hashlib.sha256(value).hexdigest()[:16]
    return GenericSecret(
        name=name, source=f"Filter/{res.name}.{res.namespace}", value=value, content_hash=digest
    )


def _scopes(spec: OAuth2FilterSpec) -> tuple[str, ...]:
    scopes = ["openid"] + [s for s in (spec.scopes or []) if s != "openid"]
    return tuple(dict.fromkeys(scopes))


def _endpoints(
    res: Resource[Any],
    spec: OAuth2FilterSpec,
    discovery: Discovered,
    out: OAuth2Logins,
    errors: list[tuple[str, str]],
) -> tuple[str, str, str | None, Cluster] | None:
    """The authorization, token and end-session endpoints, and the token endpoint's
    cluster: the Filter's own fields, else its provider's discovery document."""
    issuer = spec.authorizationURL or ""
    if url_address(issuer) is None:
        errors.append(
            (
                "OAuth2.authorizationURL",
                f"expected the issuer as an http:// or https:// URL, got {issuer!r}",
            )
        )
        return None
    urls = _endpoint_urls(res, spec, discovery, out, errors)
    if urls is None:
        return None
    found = []
    for name, (url, where) in urls.items():
        if url is not None and url_address(url) is None:
            if where == "OAuth2.authorizationURL":  # from the discovery document
                message = f"{discovery_url(issuer)} gives {name} {url!r}, not an http(s) URL"
            else:
                message = f"expected an http:// or https:// URL, got {url!r}"
            errors.append((where, message))
        found.append(url_address(url or ""))
    token = found[1]
    if token is None or found[0] is None:
        return None
    address, host = token, token.host
    scheme = "https" if address.tls else "http"
    cluster = cluster_for(address, f"{scheme}://{host}:{address.port}", None)
    # Over https the provider's certificate is checked against the system's CAs and
    # must name the token endpoint's host: the client secret is sent on this connection.
    tls = UpstreamTls(sni=host, system_ca=True, verify_san=host) if address.tls else None
    cluster = replace(
        cluster, name=cluster.name.replace("cluster_", "oauth2_", 1), upstream_tls=tls
    )
    authorize, token_url, end_session = (u for u, _ in urls.values())
    return authorize or "", token_url or "", end_session, cluster


def _endpoint_urls(
    res: Resource[Any],
    spec: OAuth2FilterSpec,
    discovery: Discovered,
    out: OAuth2Logins,
    errors: list[tuple[str, str]],
) -> dict[str, tuple[str | None, str]] | None:
    """Each endpoint (by its discovery name) with the field to blame for it. A field
    the Filter gives wins; the rest come from the discovery document, which is only
    needed (and fetched) when authorizationEndpoint or tokenEndpoint is missing."""
    own = {key: getattr(spec, name) for key, name in OWN_FIELDS.items()}
    fields = {key: f"OAuth2.{name}" for key, name in OWN_FIELDS.items()}
    if all(getattr(spec, name) for name in ENDPOINT_FIELDS):
        return {key: (url, fields[key]) for key, url in own.items()}
    issuer = spec.authorizationURL or ""
    url, doc = discovery_url(issuer), discovery.get(issuer)
    if not isinstance(doc, OidcDiscovery):
        if doc is None:
            doc = (
                "it was not fetched (legation run and check fetch it); or give "
                "authorizationEndpoint and tokenEndpoint"
            )
        errors.append(
            ("OAuth2.authorizationURL", f"cannot use the discovery document {url}: {doc}")
        )
        return None
    if doc.stale is not None:
        message = f"re-fetching {url} failed ({doc.stale}); the document fetched before is used"
        out.problems.append(res.problem("OAuth2.authorizationURL", message, notice=True))
    from_doc = {
        "authorization_endpoint": doc.authorization_endpoint,
        "token_endpoint": doc.token_endpoint,
        "end_session_endpoint": doc.end_session_endpoint,
    }
    return {
        key: (mine, fields[key]) if mine else (from_doc[key], "OAuth2.authorizationURL")
        for key, mine in own.items()
    }


def _client_secret(
    res: Resource[Any],
    spec: OAuth2FilterSpec,
    secrets: Mapping[tuple[str, str], Resource[SecretSpec]],
    errors: list[tuple[str, str]],
) -> bytes | None:
    if spec.secret is not None and spec.secretName is not None:
        errors.append(("OAuth2.secretName", "give either secret or secretName, not both"))
        return None
    if spec.secret is not None:
        return spec.secret.encode()
    if spec.secretName is None:
        errors.append(("OAuth2.secretName", "is required (or secret): the client secret"))
        return None
    namespace = spec.secretNamespace or res.namespace
    what = f"Secret {namespace}/{spec.secretName}"
    found = secrets.get((namespace, spec.secretName))
    if found is None:
        errors.append(("OAuth2.secretName", f"{what} does not exist"))
        return None
    try:
        value = found.spec.value(CLIENT_SECRET_KEY)
    except ValueError as exc:
        errors.append(("OAuth2.secretName", f"{what}: {exc}"))
        return None
    if not value:
        errors.append(("OAuth2.secretName", f"{what} has no {CLIENT_SECRET_KEY} key"))
        return None
    return value


def _redirect_origin(spec: OAuth2FilterSpec, errors: list[tuple[str, str]]) -> str:
    """Where the provider sends the browser back: the first protected origin."""
    origins = [o.origin for o in spec.protectedOrigins or []]
    if spec.clientURL:
        origins.append(spec.clientURL)
    if not origins:
        return REQUEST_ORIGIN
    first = origins[0]
    parts = urlsplit(first) if url_address(first) is not None else None
    if parts is None or parts.path not in ("", "/") or parts.query:
        errors.append(
            (
                "OAuth2.protectedOrigins",
                f"expected an origin (http[s]://host[:port]), got {first!r}",
            )
        )
    return first.rstrip("/")


def _options(
    spec: OAuth2FilterSpec, errors: list[tuple[str, str]]
) -> tuple[bool, str | None] | None:
    """(client credentials in a Basic header, SameSite value) or None if invalid."""
    if spec.grantType != "AuthorizationCode":
        errors.append(
            ("OAuth2.grantType", f"only AuthorizationCode is supported, got {spec.grantType!r}")
        )
    method = (
        spec.clientAuthentication.method if spec.clientAuthentication else "HeaderPasswordBasic"
    )
    basic = CLIENT_AUTH.get(method.lower())
    if basic is None:
        errors.append(
            (
                "OAuth2.clientAuthentication.method",
                f"expected HeaderPasswordBasic or BodyPassword, got {method!r}",
            )
        )
    same_site = None
    if spec.cookieSameSite is not None:
        same_site = SAME_SITE.get(spec.cookieSameSite.lower())
        if same_site is None:
            errors.append(
                (
                    "OAuth2.cookieSameSite",
                    f"expected Lax, Strict or None, got {spec.cookieSameSite!r}",
                )
            )
    if not spec.logoutPath.startswith("/"):
        errors.append(
            ("OAuth2.logoutPath", f"expected a path starting with /, got {spec.logoutPath!r}")
        )
    if basic is None or errors:
        return None
    return basic, same_site


def compile_oauth2(
    filters: Iterable[Resource[Any]],
    resources: Iterable[Resource[Any]],
    discovery: Discovered | None = None,
) -> OAuth2Logins:
    """The OAuth2 Filters among `filters`, with Secrets looked up in `resources` and
    the providers' discovery documents in `discovery` (by issuer)."""
    secrets = {(r.namespace, r.name): r for r in resources if r.kind == "Secret"}
    typed = [
        (res, res.spec.OAuth2)
        for res in sorted(filters, key=lambda r: r.key)
        if getattr(res.spec, "OAuth2", None) is not None and getattr(res.spec, "JWT", None) is None
    ]
    return compile_oauth2_filters(typed, secrets, discovery)
