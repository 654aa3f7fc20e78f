"""OAuth2 Filters → IR logins (`OAuth2Login`), their secrets and token-endpoint clusters.

Pure: the provider's endpoints come from the Filter (legation fields
`authorizationEndpoint` / `tokenEndpoint`), never from a network call. A Filter that
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
from legation.model.resource import Resource
from legation.model.secret import SecretSpec

SAME_SITE = {"lax": "LAX", "strict": "STRICT", "none": "NONE"}
CLIENT_AUTH = {"headerpasswordbasic": True, "bodypassword": False}
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
) -> OAuth2Logins:
    """Every OAuth2 Filter (with its `spec.OAuth2`), in the order given."""
    out = OAuth2Logins()
    for res, spec in filters:
        for name in UNSUPPORTED:
            if getattr(spec, name) is not None:
                out.problems.append(
                    res.problem(f"OAuth2.{name}", "is not supported; ignored", notice=True)
                )
        _compile_one(res, spec, secrets, out)
    return out


def _compile_one(
    res: Resource[Any],
    spec: OAuth2FilterSpec,
    secrets: Mapping[tuple[str, str], Resource[SecretSpec]],
    out: OAuth2Logins,
) -> None:
    errors: list[tuple[str, str]] = []
    endpoints = _endpoints(spec, errors)
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
    authorize, token, cluster = endpoints
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
        end_session_endpoint=spec.endSessionEndpoint,
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
    spec: OAuth2FilterSpec, errors: list[tuple[str, str]]
) -> tuple[str, str, Cluster] | None:
    """The authorization and token endpoints, and the token endpoint's cluster."""
    issuer = spec.authorizationURL or ""
    if url_address(issuer) is None:
        errors.append(
            (
                "OAuth2.authorizationURL",
                f"expected the issuer as an http:// or https:// URL, got {issuer!r}",
            )
        )
        return None
    missing = [n for n in ("authorizationEndpoint", "tokenEndpoint") if not getattr(spec, n)]
    if missing:
        errors.append(
            (
                f"OAuth2.{missing[0]}",
                "is required: legation does not fetch "
                f"{issuer.rstrip('/')}/.well-known/openid-configuration; copy "
                "authorization_endpoint and token_endpoint from it",
            )
        )
        return None
    found = []
    for name in ("authorizationEndpoint", "tokenEndpoint", "endSessionEndpoint"):
        url = getattr(spec, name)
        if url is not None and url_address(url) is None:
            errors.append((f"OAuth2.{name}", f"expected an http:// or https:// URL, got {url!r}"))
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
    return spec.authorizationEndpoint or "", spec.tokenEndpoint or "", cluster


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
    parts = urlsplit(first)
    if url_address(first) is None or parts.path not in ("", "/") or parts.query:
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
    filters: Iterable[Resource[Any]], resources: Iterable[Resource[Any]]
) -> OAuth2Logins:
    """The OAuth2 Filters among `filters`, with Secrets looked up in `resources`."""
    secrets = {(r.namespace, r.name): r for r in resources if r.kind == "Secret"}
    typed = [
        (res, res.spec.OAuth2)
        for res in sorted(filters, key=lambda r: r.key)
        if getattr(res.spec, "OAuth2", None) is not None and getattr(res.spec, "JWT", None) is None
    ]
    return compile_oauth2_filters(typed, secrets)
