"""JWT Filters → IR JWT providers, the clusters their JWK sets are fetched through,
and the CA bundles those clusters check the JWKS server against.

Every field of the commercial edition's JWT Filter is either applied, or reported: as
a notice when Envoy is stricter than asked (e.g. a token without `aud` is refused even
when `requireAudience` is false), as an error when it would be laxer (then the Filter
is broken and the routes that use it refuse every request).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from legation.compile.jwt_errors import error_response
from legation.compile.service import ServiceAddress, cluster_for, url_address
from legation.compile.tls_secrets import SecretLookup
from legation.ir.clusters import Cluster, UpstreamTls
from legation.ir.errors import ConfigProblem
from legation.ir.jwt import ClaimHeader, JwtProvider, RemoteJwks, TokenSource
from legation.ir.secrets import Secret
from legation.model.filter import FILTER_TYPES, FilterSpec, JwtFilterSpec
from legation.model.resource import Resource

ENVOY_ALGORITHMS = frozenset(
    [
        "ES256",
        "ES384",
        "ES512",
        "HS256",
        "HS384",
        "HS512",
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "EdDSA",
    ]
)
"""What Envoy's jwt_authn verifies (it never accepts `none`)."""

_CLAIM = re.compile(r"^\s*\{\{\s*\.token\.Claims\.([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\s*\}\}\s*$")
_KEY_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "oct": ("k",), "OKP": ("crv", "x")}


@dataclass
class JwtFilters:
    """What the Filters compiled to: providers by Filter key, and why the others failed."""

    providers: dict[str, JwtProvider] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    """Filter key → why the Filter cannot work (its routes fail closed)."""
    clusters: list[Cluster] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    control_port: ControlPortCheck = field(default=lambda address: None, repr=False)


def provider_name(res: Resource[Any]) -> str:
    """The provider's name in Envoy: `namespace/name` of the Filter."""
    return f"{res.namespace}/{res.name}"


ControlPortCheck = Callable[[ServiceAddress], str | None]
"""Why an address may not be connected to (one of the gateway's own control ports)."""


def compile_jwt_filters(
    filters: Iterable[Resource[FilterSpec]],
    lookup: SecretLookup,
    control_port: ControlPortCheck = lambda address: None,
) -> JwtFilters:
    """Every Filter: a JWT provider, or the reason it is broken (reported on it).

    `control_port` refuses JWKS URIs aimed at the gateway's own control ports (Envoy
    would fetch from its admin interface)."""
    out = JwtFilters(control_port=control_port)
    for res in sorted(filters, key=lambda r: r.key):
        kinds = [t for t in FILTER_TYPES if getattr(res.spec, t) is not None]
        if len(kinds) != 1:
            message = f"expected exactly one of {', '.join(FILTER_TYPES)}; got {len(kinds)}"
            _fail(out, res, "", message)
            continue
        if kinds[0] == "OAuth2":
            continue  # compile/oauth2.py
        if kinds[0] != "JWT":
            _fail(out, res, kinds[0], f"Filter type {kinds[0]} is not supported yet")
            continue
        spec = res.spec.JWT
        assert spec is not None
        _compile_one(out, res, spec, lookup)
    return out


def _fail(out: JwtFilters, res: Resource[Any], fld: str, message: str) -> None:
    out.broken[res.key] = message
    out.problems.append(res.problem(fld, message + "; routes using it refuse every request"))


def _compile_one(
    out: JwtFilters, res: Resource[FilterSpec], spec: JwtFilterSpec, lookup: SecretLookup
) -> None:
    problems: list[ConfigProblem] = []
    errors: list[tuple[str, str]] = []
    remote, local = _jwks_source(res, spec, lookup, out, errors)
    errors.extend(_laxer_than_asked(spec))
    problems.extend(res.problem(f, m, notice=True) for f, m in _stricter_than_asked(spec))
    claims = _claim_headers(res, spec, problems)
    errors_out = error_response(res, spec.errorResponse, problems)
    if errors:
        out.problems.extend(problems)
        for fld, message in errors:
            _fail(out, res, fld, message)
        return
    skew_ms = max(spec.leewayForExpiresAt, spec.leewayForNotBefore)
    out.providers[res.key] = JwtProvider(
        name=provider_name(res),
        filter=res.key,
        issuer=spec.issuer,
        audiences=(spec.audience,) if spec.audience else (),
        remote_jwks=remote,
        local_jwks=local,
        headers=tuple(TokenSource(h.name, h.prefix) for h in spec.tokenFromHeaders or ()),
        cookies=tuple(spec.tokenFromCookies or ()),
        forward=spec.forwardToken,
        require_expiration=spec.requireExpiresAt,
        required_claims=_required_claims(spec),
        # Envoy reads 0 as "unset" (60 s): one second is the closest it comes to none
        clock_skew_seconds=max(1, -(-skew_ms // 1000)),
        claim_headers=claims,
        error_response=errors_out,
    )
    out.problems.extend(problems)


def _required_claims(spec: JwtFilterSpec) -> tuple[str, ...]:
    """The claims the token must carry that Envoy does not require by itself (checked
    after jwt_authn, by envoy/filters/jwt_claims.py)."""
    wanted = (("iat", spec.requireIssuedAt), ("nbf", spec.requireNotBefore))
    return tuple(claim for claim, required in wanted if required)


def _laxer_than_asked(spec: JwtFilterSpec) -> list[tuple[str, str]]:
    """Asked-for checks Envoy cannot make: applying the Filter anyway would let through
    tokens the Filter says to refuse."""
    errors = []
    if spec.requireAudience and not spec.audience:
        errors.append(("JWT.requireAudience", "requireAudience without audience is not supported"))
    if spec.requireIssuer and not spec.issuer:
        errors.append(("JWT.requireIssuer", "requireIssuer without issuer is not supported"))
    if spec.renegotiateTLS not in ("never", "onceAsClient", "freelyAsClient"):
        errors.append(("JWT.renegotiateTLS", "expected never, onceAsClient or freelyAsClient"))
    return errors


def _stricter_than_asked(spec: JwtFilterSpec) -> list[tuple[str, str]]:
    notices = []
    if spec.audience and not spec.requireAudience:
        notices.append(("JWT.requireAudience", "Envoy refuses a token without `aud` as well"))
    if spec.leewayForExpiresAt != spec.leewayForNotBefore:
        notices.append(
            ("JWT.leewayForExpiresAt", "Envoy has one clock skew: the larger leeway applies")
        )
    if spec.leewayForIssuedAt:
        notices.append(("JWT.leewayForIssuedAt", "ignored: Envoy does not check the `iat` time"))
    for alg in spec.validAlgorithms or ():
        if alg not in ENVOY_ALGORITHMS:
            notices.append(("JWT.validAlgorithms", f"{alg!r} is never accepted by Envoy"))
    if spec.validAlgorithms:
        notices.append(
            ("JWT.validAlgorithms", "Envoy accepts each algorithm the JWKS key type allows")
        )
    if spec.renegotiateTLS == "onceAsClient":
        notices.append(("JWT.renegotiateTLS", "Envoy allows renegotiation freely"))
    return notices


def _claim_headers(
    res: Resource[Any], spec: JwtFilterSpec, problems: list[ConfigProblem]
) -> tuple[ClaimHeader, ...]:
    out = []
    for i, header in enumerate(spec.injectRequestHeaders or ()):
        match = _CLAIM.match(header.value)
        if match is None:
            message = "only `{{ .token.Claims.<name> }}` is supported; header left out"
            problems.append(res.problem(f"JWT.injectRequestHeaders.{i}.value", message))
            continue
        out.append(ClaimHeader(header.name, match.group(1)))
    return tuple(out)


def jwks_problem(text: str) -> str | None:
    """Why `text` is not a JWK set Envoy can use, or None."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"not JSON ({exc})"
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        return "expected a JSON object with a `keys` list"
    if not data["keys"]:
        return "the key set is empty"
    for i, key in enumerate(data["keys"]):
        kty = key.get("kty") if isinstance(key, dict) else None
        if kty not in _KEY_MEMBERS:
            return f"key {i}: kty must be one of {', '.join(_KEY_MEMBERS)}"
        missing = [m for m in _KEY_MEMBERS[kty] if not isinstance(key.get(m), str)]
        if missing:
            return f"key {i} ({kty}): missing {', '.join(missing)}"
    return None


def _jwks_source(
    res: Resource[Any],
    spec: JwtFilterSpec,
    lookup: SecretLookup,
    out: JwtFilters,
    errors: list[tuple[str, str]],
) -> tuple[RemoteJwks | None, str | None]:
    given = [f for f in ("jwksURI", "jwks", "jwksSecret") if getattr(spec, f) is not None]
    if len(given) != 1:
        errors.append(("JWT.jwksURI", "expected exactly one of jwksURI, jwks, jwksSecret"))
        return None, None
    if spec.jwks is not None:
        problem = jwks_problem(spec.jwks)
        if problem is not None:
            errors.append(("JWT.jwks", f"invalid JWK set: {problem}"))
        return None, spec.jwks
    if spec.jwksSecret is not None:
        return None, _secret_jwks(res, spec, lookup, errors)
    return _remote_jwks(res, spec, lookup, out, errors), None


def _secret_jwks(
    res: Resource[Any], spec: JwtFilterSpec, lookup: SecretLookup, errors: list[tuple[str, str]]
) -> str | None:
    ref = spec.jwksSecret
    assert ref is not None
    text, problem = lookup.text(res.namespace, ref.name, ref.key)
    if text is not None:
        problem = jwks_problem(text)
        problem = None if problem is None else f"invalid JWK set: {problem}"
    if problem is not None:
        errors.append(("JWT.jwksSecret", f"Secret {res.namespace}/{ref.name}: {problem}"))
    return text


def _remote_jwks(
    res: Resource[Any],
    spec: JwtFilterSpec,
    lookup: SecretLookup,
    out: JwtFilters,
    errors: list[tuple[str, str]],
) -> RemoteJwks | None:
    uri = spec.jwksURI or ""
    address = url_address(uri)
    if address is None:
        errors.append(("JWT.jwksURI", f"expected an http:// or https:// URL, got {uri!r}"))
        return None
    parts, tls = urlsplit(uri), address.tls
    if out.control_port(address) is not None:
        where = f"{address.host}:{address.port}"
        errors.append(("JWT.jwksURI", f"{where} is this gateway's own control port"))
        return None
    cluster = cluster_for(address, f"{parts.scheme}://{parts.netloc}", None)
    upstream = None
    if tls:
        upstream = _jwks_tls(res, spec, address.host, lookup, out, errors)
        if upstream is None:
            return None
    name = cluster.name.replace("cluster_", "jwks_", 1)
    if upstream is not None:  # one cluster per distinct TLS setting of one JWKS server
        u = upstream
        settings = repr((u, u.system_ca, u.verify_san, u.allow_renegotiation))
        name += "_" + hashlib.sha1(settings.encode(), usedforsecurity=False).hexdigest()[:8]
    cluster = replace(cluster, name=name, upstream_tls=upstream, mappings=(res.key,))
    out.clusters.append(cluster)
    return RemoteJwks(uri, name, spec.jwksCacheDuration, spec.jwksFetchTimeout)


def _jwks_tls(
    res: Resource[Any],
    spec: JwtFilterSpec,
    host: str,
    lookup: SecretLookup,
    out: JwtFilters,
    errors: list[tuple[str, str]],
) -> UpstreamTls | None:
    renegotiate = spec.renegotiateTLS != "never"
    if spec.insecureTLS:
        return UpstreamTls(sni=host, allow_renegotiation=renegotiate)
    if spec.jwksCASecret is None:
        return UpstreamTls(
            sni=host, system_ca=True, verify_san=host, allow_renegotiation=renegotiate
        )
    ca = lookup.ca_bundle(res.namespace, spec.jwksCASecret)
    if isinstance(ca, str):
        errors.append(("JWT.jwksCASecret", ca))
        return None
    out.secrets.append(ca)
    return UpstreamTls(
        sni=host, trusted_ca=ca.name, verify_san=host, allow_renegotiation=renegotiate
    )
