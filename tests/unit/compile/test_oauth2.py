"""OAuth2 Filters (OIDC login) in compile: what each field becomes, what is refused and
how routes are decided (protected whole, fail closed, never open by accident)."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileResult, compile_config
from legation.ir.gateway import Gateway
from legation.ir.oauth2 import RouteLogin
from legation.ir.provenance import Source
from legation.model.oidc_discovery import Discovered, OidcDiscovery
from legation.model.raw import RawObject

ENDPOINTS = {
    "authorizationURL": "http://idp.test/oidc",
    "authorizationEndpoint": "http://idp.test/oidc/authorize",
    "tokenEndpoint": "http://idp.test:8080/oidc/token",
    "clientID": "app",
}


def _doc(
    kind: str, name: str, spec: dict[str, Any], api: str = "getambassador.io/v3alpha1"
) -> RawObject:
    doc: dict[str, Any] = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
    }
    if kind == "Secret":
        doc.update(spec)
    else:
        doc["spec"] = spec
    return RawObject(doc=doc, source=Source("in.yaml", 1))


def _filter(name: str, **oauth2: Any) -> RawObject:
    return _doc("Filter", name, {"OAuth2": oauth2})


def _compile(
    *objects: RawObject,
    rules: list[dict[str, Any]] | None = None,
    discovery: Discovered | None = None,
) -> CompileResult:
    mappings = [
        _doc("Mapping", n, {"prefix": f"/{n}/", "service": "up"}) for n in ("app", "open", "b")
    ]
    policy = _doc(
        "FilterPolicy", "p", {"rules": rules or [{"path": "/app/*", "filters": [{"name": "f"}]}]}
    )
    return compile_config([*objects, *mappings, policy], discovery=discovery)


def _errors(result: CompileResult) -> list[str]:
    return [f"{p.field}: {p.message}" for p in result.problems if p.severity.value == "error"]


def _route_logins(gateway: Gateway) -> dict[str, RouteLogin | None]:
    return {
        r.match.path.value: r.options.oauth2
        for c in gateway.route_configs
        for vh in c.virtual_hosts
        for r in vh.routes
    }


def test_a_working_filter_becomes_a_login_with_its_secrets_and_cluster() -> None:
    result = _compile(
        _filter("f", **ENDPOINTS, secret="s3cret", clientAuthentication={"method": "BodyPassword"})
    )
    assert _errors(result) == []
    [login] = result.gateway.oauth2.logins
    assert login.name == "f.default" and login.client_id == "app"
    assert login.scopes == ("openid",) and not login.basic_auth
    assert login.redirect_uri.endswith("/.ambassador/oauth2/redirection-endpoint")
    assert login.cookies.bearer_token == "BearerToken.f.default"
    [cluster] = result.gateway.oauth2.clusters
    assert (cluster.host, cluster.port, cluster.name) == ("idp.test", 8080, login.token_cluster)
    secrets = {s.name: s.value for s in result.gateway.oauth2.secrets}
    assert secrets[login.token_secret] == b"s3cret"
    assert len(secrets[login.hmac_secret]) == 32 and secrets[login.hmac_secret] != b"s3cret"
    assert "s3cret" not in repr(result.gateway)  # secret bytes never in a repr


def test_the_cookie_key_is_stable_and_differs_per_filter() -> None:
    def hmac_of(name: str) -> bytes:
        rules = [{"path": "/app/*", "filters": [{"name": name}]}]
        gateway = _compile(_filter(name, **ENDPOINTS, secret="s3cret"), rules=rules).gateway
        return next(s.value for s in gateway.oauth2.secrets if s.name.endswith("/hmac"))

    assert hmac_of("f") == hmac_of("f") != hmac_of("g")


def test_routes_get_the_login_or_none() -> None:
    rules = [
        {"path": "/app/public/*", "filters": None},  # covers part of /app/ only
        {"path": "/app/*", "filters": [{"name": "f"}]},
    ]
    result = _compile(_filter("f", **ENDPOINTS, secret="s"), rules=rules)
    logins = _route_logins(result.gateway)
    assert logins["/app/"] == RouteLogin(login="f.default")  # protected as a whole
    assert logins["/open/"] is None


def test_missing_or_bad_client_secrets_are_reported_and_fail_closed() -> None:
    no_key = _doc("Secret", "nokey", {"type": "Opaque", "stringData": {"other": "x"}}, api="v1")
    cases = {
        "secretName: Secret default/nokey has no oauth2-client-secret key": {"secretName": "nokey"},
        "secretName: give either secret or secretName, not both": {
            "secret": "a",
            "secretName": "nokey",
        },
        "secretName: is required (or secret): the client secret": {},
    }
    for expected, fields in cases.items():
        result = _compile(no_key, _filter("f", **ENDPOINTS, **fields))
        assert f"spec.OAuth2.{expected}" in _errors(result), (expected, _errors(result))
        assert result.gateway.oauth2.logins == ()
        login = _route_logins(result.gateway)["/app/"]
        assert login is not None and login.failure is not None and login.login is None


def test_endpoints_are_checked() -> None:
    bad = {**ENDPOINTS, "secret": "s", "authorizationEndpoint": "/relative"}
    assert (
        "spec.OAuth2.authorizationEndpoint: expected an http:// or https:// URL, got '/relative'"
        in _errors(_compile(_filter("f", **bad)))
    )
    malformed = {**ENDPOINTS, "secret": "s", "authorizationURL": "http://[zz]/"}
    malformed["protectedOrigins"] = [{"origin": "http://[::1"}]
    assert sorted(_errors(_compile(_filter("f", **malformed))))[:2] == [
        "spec.OAuth2.authorizationURL: expected the issuer as an http:// or https:// URL, "
        "got 'http://[zz]/'",
        "spec.OAuth2.protectedOrigins: expected an origin (http[s]://host[:port]), got 'http://[::1'",
    ]  # reported, not a crash


ISSUER = ENDPOINTS["authorizationURL"]
DOCUMENT_URL = "http://idp.test/oidc/.well-known/openid-configuration"
DISCOVERED = OidcDiscovery(
    authorization_endpoint="https://login.idp.test/auth",
    token_endpoint="https://idp.test:9443/token",
    end_session_endpoint="https://login.idp.test/logout",
)


def test_a_filter_with_only_its_issuer_takes_the_endpoints_from_discovery() -> None:
    result = _compile(
        _filter("f", authorizationURL=ISSUER, clientID="app", secret="s"),
        discovery={ISSUER: DISCOVERED},
    )
    assert _errors(result) == []
    [login] = result.gateway.oauth2.logins
    assert login.authorization_endpoint == "https://login.idp.test/auth"
    assert login.token_endpoint == "https://idp.test:9443/token"
    assert login.end_session_endpoint == "https://login.idp.test/logout"
    [cluster] = result.gateway.oauth2.clusters
    assert (cluster.host, cluster.port) == ("idp.test", 9443)
    assert cluster.upstream_tls is not None and cluster.upstream_tls.verify_san == "idp.test"


def test_the_filters_own_endpoints_win_over_discovery() -> None:
    result = _compile(
        _filter(
            "f", authorizationURL=ISSUER, clientID="app", secret="s",
            tokenEndpoint="http://idp.test:8080/oidc/token", endSessionEndpoint="http://x.test/",
        ),
        discovery={ISSUER: DISCOVERED},
    )  # fmt: skip
    assert _errors(result) == []
    [login] = result.gateway.oauth2.logins
    assert login.authorization_endpoint == "https://login.idp.test/auth"  # not given: found
    assert login.token_endpoint == "http://idp.test:8080/oidc/token"
    assert login.end_session_endpoint == "http://x.test/"
    # both given: the document is not needed (nor its end_session_endpoint used)
    both = _compile(_filter("f", **ENDPOINTS, secret="s"), discovery={ISSUER: DISCOVERED})
    assert both.gateway.oauth2.logins[0].end_session_endpoint is None


def test_a_missing_or_bad_discovery_document_is_an_error_and_fails_closed() -> None:
    only_issuer = _filter("f", authorizationURL=ISSUER, clientID="app", secret="s")
    cases: dict[str, Discovered] = {
        "it was not fetched (legation run and check fetch it)": {},
        "answered HTTP 404": {ISSUER: "answered HTTP 404"},
        f"{DOCUMENT_URL} gives token_endpoint 'token', not an http(s) URL": {
            ISSUER: OidcDiscovery("http://idp.test/auth", "token")
        },
    }
    for expected, discovery in cases.items():
        result = _compile(only_issuer, discovery=discovery)
        errors = _errors(result)
        assert any(
            e.startswith("spec.OAuth2.authorizationURL: ") and expected in e for e in errors
        ), (expected, errors)
        assert DOCUMENT_URL in errors[0]
        assert result.gateway.oauth2.logins == ()
        login = _route_logins(result.gateway)["/app/"]
        assert login is not None and login.failure is not None and login.login is None


def test_a_stale_document_is_used_with_a_notice() -> None:
    stale = OidcDiscovery("http://idp.test/auth", "http://idp.test/token", stale="answered 503")
    result = _compile(
        _filter("f", authorizationURL=ISSUER, clientID="app", secret="s"),
        discovery={ISSUER: stale},
    )
    assert _errors(result) == [] and len(result.gateway.oauth2.logins) == 1
    notices = [p.message for p in result.problems if p.field == "spec.OAuth2.authorizationURL"]
    assert notices == [
        f"re-fetching {DOCUMENT_URL} failed (answered 503); the document fetched before is used"
    ]


def test_other_fields_refused_or_noticed() -> None:
    result = _compile(
        _filter(
            "f", **ENDPOINTS, secret="s", grantType="ClientCredentials", cookieSameSite="Sometimes",
            protectedOrigins=[{"origin": "https://app.test/path"}], injectRequestHeaders=[],
        )
    )  # fmt: skip
    errors = _errors(result)
    assert (
        "spec.OAuth2.grantType: only AuthorizationCode is supported, got 'ClientCredentials'"
        in errors
    )
    assert "spec.OAuth2.cookieSameSite: expected Lax, Strict or None, got 'Sometimes'" in errors
    assert any(e.startswith("spec.OAuth2.protectedOrigins: expected an origin") for e in errors)
    notices = [p.field for p in result.problems if p.severity.value == "notice"]
    assert "spec.OAuth2.injectRequestHeaders" in notices


def test_a_rule_with_two_oauth2_filters_fails_closed() -> None:
    rules = [{"path": "/app/*", "filters": [{"name": "f"}, {"name": "g"}]}]
    result = _compile(
        _filter("f", **ENDPOINTS, secret="s"), _filter("g", **ENDPOINTS, secret="s"), rules=rules
    )
    assert any("names a second OAuth2 Filter" in e for e in _errors(result))
    login = _route_logins(result.gateway)["/app/"]
    assert login is not None and login.failure is not None
