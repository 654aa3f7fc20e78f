"""JWT Filters and FilterPolicies through a real Envoy: tokens minted here with PyJWT,
the JWK set served by a real HTTPS server on loopback, answers from a real upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, legation_check, mapping, poll
from tests.e2e.jwks import JwksServer, SigningKey, filter_policy, jwks_json, jwt_filter
from tests.e2e.tls import ca_secret

pytestmark = pytest.mark.e2e

ISSUER, AUDIENCE = "https://issuer.test", "legation-api"


def _files(up: EchoUpstream, jwks: JwksServer, inline: str) -> dict[str, str]:
    mappings = "".join(
        "---\n" + mapping(name, up.service, f"/{name}/")
        for name in ("api", "public", "cookie", "broken", "badjwks", "unknown", "cond")
    )
    filters = (
        ca_secret("jwks-ca", jwks_ca_pem)
        + jwt_filter(
            "main",
            jwksURI=jwks.uri,
            jwksCASecret="jwks-ca",
            issuer=ISSUER,
            audience=AUDIENCE,
            requireAudience=True,
            injectRequestHeaders=[
                {"name": "X-Jwt-Sub", "value": "{{ .token.Claims.sub }}"},
                {"name": "X-Jwt-Email", "value": "{{ .token.Claims.email }}"},
            ],
            errorResponse={
                "contentType": "application/json",
                "bodyTemplate": '{"error": "{{ .message }}", "status": {{ .status_code }}}',
                "headers": [{"name": "X-Auth-Failed", "value": "jwt"}],
            },
        )
        + jwt_filter(
            "cookie",
            jwks=inline,
            tokenFromCookies=["session"],
            tokenFromHeaders=[{"name": "X-Token"}],
        )
        + jwt_filter("bad-uri", jwksURI="ftp://nowhere/jwks.json")
        + jwt_filter("bad-jwks", jwks='{"keys": [{"kty": "RSA"}]}')
    )
    policy = filter_policy(
        "policy",
        [
            {"host": "*", "path": "/public/*", "filters": None},
            {"host": "*", "path": "/api/health", "filters": None},
            {"host": "*", "path": "/cookie/*", "filters": [{"name": "cookie"}]},
            {
                "host": "*",
                "path": "/cond/*",
                "filters": [{"name": "main", "ifRequestHeader": {"name": "Authorization"}}],
            },
            {"host": "*", "path": "/broken/*", "filters": [{"name": "bad-uri"}]},
            {"host": "*", "path": "/badjwks/*", "filters": [{"name": "bad-jwks"}]},
            {"host": "*", "path": "/unknown/*", "filters": [{"name": "no-such-filter"}]},
            {"host": "*", "path": "*", "filters": [{"name": "main"}]},
        ],
    )
    return {"mappings.yaml": mappings, "filters.yaml": filters, "policy.yaml": policy}


jwks_ca = TestCA("jwks test CA")
jwks_ca_pem = jwks_ca.cert_pem


class Setup:
    """The running pieces shared by this module's tests."""

    def __init__(self, gw: RunningGateway, up: EchoUpstream, key: SigningKey) -> None:
        self.gw, self.up, self.key = gw, up, key

    def good(self, **claims: Any) -> str:
        base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "email": "alice@example.test"}
        return self.key.token(**{**base, **claims})

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return self.gw.get(path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    key, inline_key = SigningKey("k1"), SigningKey("inline")
    with (
        EchoUpstream("echo") as up,
        JwksServer(jwks_ca, jwks_json(key)) as jwks,
        RunningGateway(_files(up, jwks, jwks_json(inline_key))) as gw,
    ):
        s = Setup(gw, up, key)
        s.inline_key = inline_key  # type: ignore[attr-defined]
        # the JWK set is fetched in the background: wait for the first good answer
        poll(lambda: s.get("/api/x", s.good()).status_code == 200, timeout=15)
        yield s


def test_valid_token_passes_with_claims_as_headers(setup: Setup) -> None:
    r = setup.get("/api/hello", setup.good(), headers={"x-jwt-sub": "mallory"})
    assert r.status_code == 200, r.text
    headers = r.json()["headers"]
    assert headers["x-jwt-sub"] == "alice"  # the claim, not the client's value
    assert headers["x-jwt-email"] == "alice@example.test"
    assert headers["authorization"].startswith("Bearer ")  # forwarded, as the commercial edition
    # a claim the token lacks: the client's header of that name does not pass either
    r = setup.get("/api/hello", setup.good(email=None), headers={"x-jwt-email": "forged"})
    assert r.status_code == 200
    assert "x-jwt-email" not in r.json()["headers"]


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": -120},  # expired (times are seconds from when the test runs)
        {"nbf": 120},  # not yet valid
        {"iss": "https://other.test"},  # wrong issuer
        {"aud": "someone-else"},  # wrong audience
        {"aud": None},  # no audience (requireAudience)
    ],
    ids=["expired", "not-yet-valid", "wrong-issuer", "wrong-audience", "no-audience"],
)
def test_bad_claims_get_401(setup: Setup, claims: dict[str, Any]) -> None:
    # relative to now, not to collection: a long suite reaches this test minutes later
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    before = len(setup.up.requests)
    r = setup.get("/api/hello", setup.good(**claims))
    assert r.status_code == 401, r.text
    assert len(setup.up.requests) == before  # never reached the upstream


def test_bad_signature_and_missing_token_get_401(setup: Setup) -> None:
    forged = SigningKey("k1").token(iss=ISSUER, aud=AUDIENCE, sub="alice")  # same kid
    assert setup.get("/api/hello", forged).status_code == 401
    assert setup.get("/api/hello").status_code == 401
    assert setup.get("/api/hello", "not-a-jwt").status_code == 401
    assert setup.get("/api/hello", setup.good()).status_code == 200


def test_error_response_body_and_headers(setup: Setup) -> None:
    r = setup.get("/api/hello")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-auth-failed"] == "jwt"
    assert r.json() == {"error": "Jwt is missing", "status": 401}
    # the wrong-audience refusal (403 in Envoy) is a 401 with the same body shape
    r = setup.get("/api/hello", setup.good(aud="other"))
    assert (r.status_code, r.json()["status"]) == (401, 401), r.text
    assert "udience" in r.json()["error"]


def test_policy_skips_paths(setup: Setup) -> None:
    assert setup.get("/public/page").status_code == 200  # filters: null
    assert setup.get("/api/health").status_code == 200  # a glob inside the /api/ route
    assert setup.get("/api/healthy").status_code == 401  # ... matched exactly
    assert setup.get("/api/other").status_code == 401


def test_if_request_header(setup: Setup) -> None:
    # the Filter runs only when the request has an Authorization header
    assert setup.get("/cond/x").status_code == 200
    assert setup.get("/cond/x", setup.good()).status_code == 200
    assert setup.get("/cond/x", setup.good(iss="https://other.test")).status_code == 401


def test_inline_jwks_token_from_cookie_or_header(setup: Setup) -> None:
    inline: SigningKey = setup.inline_key  # type: ignore[attr-defined]
    token = inline.token(sub="bob")
    assert setup.gw.get("/cookie/", headers={"cookie": f"session={token}"}).status_code == 200
    assert setup.gw.get("/cookie/", headers={"x-token": token}).status_code == 200
    assert setup.gw.get("/cookie/").status_code == 401
    # a token of the other provider is no good here
    assert setup.gw.get("/cookie/", headers={"x-token": setup.good()}).status_code == 401


def test_broken_filters_fail_closed_and_are_reported(setup: Setup) -> None:
    for path in ("/broken/", "/badjwks/", "/unknown/"):
        r = setup.get(path, setup.good())
        assert r.status_code == 401, (path, r.status_code)
    assert setup.get("/api/ok", setup.good()).status_code == 200  # others keep working
    table = setup.gw.diag("/ambassador/v0/diag/routes?json=true").json()["routes"]
    modes = {r["mappings"][0]: r["jwt"]["mode"] for r in table}
    assert modes["Mapping/broken.default"] == "refused"
    assert modes["Mapping/public.default"] == "none"
    assert modes["Mapping/api.default"] == "per-request"  # /api/health is inside it
    text = setup.gw.error_lines()
    assert any("Filter/bad-uri.default spec.JWT.jwksURI" in t for t in text), text
    assert any("Filter/bad-jwks.default spec.JWT.jwks invalid JWK set" in t for t in text), text
    assert any(
        "FilterPolicy/policy.default" in t and "Filter/no-such-filter.default does not exist" in t
        for t in text
    ), text


def test_check_reports_broken_filters(tmp_path: Path) -> None:
    key = SigningKey("k")
    with EchoUpstream("echo") as up, JwksServer(jwks_ca, jwks_json(key)) as jwks:
        for name, text in _files(up, jwks, jwks_json(key)).items():
            (tmp_path / name).write_text(text)
    code, out = legation_check(tmp_path)
    assert code == 1, out
    assert "filters.yaml" in out and "Filter/bad-uri.default" in out
    assert "expected an http:// or https:// URL" in out
    assert "no-such-filter" in out


def test_key_rotation_is_picked_up() -> None:
    old, new = SigningKey("old"), SigningKey("new")
    with (
        EchoUpstream("echo") as up,
        JwksServer(jwks_ca, jwks_json(old)) as jwks,
        RunningGateway(
            {
                "all.yaml": "---\n"
                + mapping("api", up.service, "/api/")
                + ca_secret("jwks-ca", jwks_ca_pem)
                + jwt_filter(
                    "rot", jwksURI=jwks.uri, jwksCASecret="jwks-ca", jwksCacheDuration="1s"
                )
                + filter_policy("p", [{"path": "*", "filters": [{"name": "rot"}]}])
            }
        ) as gw,
    ):

        def status(key: SigningKey) -> int:
            token = key.token(sub="x")
            return gw.get("/api/", headers={"authorization": f"Bearer {token}"}).status_code

        poll(lambda: status(old) == 200, timeout=15)
        assert status(new) == 401
        jwks.jwks = jwks_json(new)  # rotated on the server
        started = time.monotonic()
        poll(lambda: status(new) == 200, timeout=10)
        assert time.monotonic() - started < 10
        assert status(old) == 401
        assert jwks.fetches >= 2


def test_live_changes_fix_and_remove_policy() -> None:
    key = SigningKey("live")
    with (
        EchoUpstream("echo") as up,
        RunningGateway(
            {
                "m.yaml": "---\n" + mapping("api", up.service, "/api/"),
                "p.yaml": filter_policy("p", [{"path": "*", "filters": [{"name": "later"}]}]),
            }
        ) as gw,
    ):
        bearer = {"authorization": f"Bearer {key.token(sub='x')}"}
        assert gw.get("/api/", headers=bearer).status_code == 401  # unknown Filter: closed
        gw.write("f.yaml", jwt_filter("later", jwks=jwks_json(key)))
        gw.wait_status("/api/", 200, headers=bearer)
        assert gw.get("/api/").status_code == 401
        listeners = "/config_dump?resource=dynamic_listeners"
        assert "envoy.filters.http.jwt_authn" in gw.admin(listeners).text
        gw.remove("p.yaml")  # no policy: no validation, and no jwt_authn on the listener
        gw.wait_status("/api/", 200)
        poll(lambda: "envoy.filters.http.jwt_authn" not in gw.admin(listeners).text)
