"""requireIssuedAt / requireNotBefore through a real Envoy: a token without the claim
is refused with a 401 (and the Filter's errorResponse) where the Filter applies, and
passes everywhere else; the Module's ip_deny keeps its own 403."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, manifest, mapping
from tests.e2e.jwks import SigningKey, filter_policy, jwks_json, jwt_filter

pytestmark = pytest.mark.e2e

PATHS = ("iat", "nbf", "both", "plain", "open", "mixed")


class Claims:
    """The running gateway, its upstream, and the key every Filter trusts."""

    def __init__(self, gw: RunningGateway, up: EchoUpstream, key: SigningKey) -> None:
        self.gw, self.up, self.key = gw, up, key

    def token(self, **claims: Any) -> str:
        """A token with `iat` and `nbf` (now) unless given; None drops a claim."""
        now = int(time.time())
        return self.key.token(**{"sub": "alice", "iat": now, "nbf": now, **claims})

    def get(self, path: str, token: str) -> httpx.Response:
        return self.gw.get(path, headers={"authorization": f"Bearer {token}"})

    def statuses(self, token: str) -> dict[str, int]:
        """The status of each route for `token`."""
        paths = [f"/{p}/x" for p in PATHS] + ["/mixed/strict/x"]
        return {p: self.get(p, token).status_code for p in paths}


@pytest.fixture(scope="module")
def claims() -> Iterator[Claims]:
    key = SigningKey("claims")
    jwks = jwks_json(key)
    error = {
        "contentType": "application/json",
        "bodyTemplate": '{"error": "{{ .message }}", "status": {{ .status_code }}}',
        "headers": [{"name": "X-Auth-Failed", "value": "jwt"}],
    }
    policy = filter_policy(
        "policy",
        [
            {"path": "/iat/*", "filters": [{"name": "iat"}]},
            {"path": "/nbf/*", "filters": [{"name": "nbf"}]},
            {"path": "/both/*", "filters": [{"name": "iat"}, {"name": "nbf"}]},
            {"path": "/plain/*", "filters": [{"name": "plain"}]},
            # only part of the /mixed/ route: jwt_authn's path rules decide per request
            {"path": "/mixed/strict/*", "filters": [{"name": "iat"}]},
            {"path": "/mixed/*", "filters": [{"name": "plain"}]},
        ],
    )
    with EchoUpstream("echo") as up:
        files = {
            "mappings.yaml": "".join("---\n" + mapping(p, up.service, f"/{p}/") for p in PATHS),
            "filters.yaml": jwt_filter("iat", jwks=jwks, requireIssuedAt=True, errorResponse=error)
            + jwt_filter("nbf", jwks=jwks, requireNotBefore=True)
            + jwt_filter("plain", jwks=jwks),
            "policy.yaml": policy,
            # the Module's own RBAC filter (before jwt_authn) in the same chain
            "module.yaml": manifest(
                "Module", "ambassador", spec={"config": {"ip_deny": [{"peer": "127.0.0.2"}]}}
            ),
        }
        with RunningGateway(files) as gw:
            s = Claims(gw, up, key)
            gw.wait_status("/plain/x", 200, headers={"authorization": f"Bearer {s.token()}"})
            yield s


def test_token_with_both_claims_passes_everywhere(claims: Claims) -> None:
    token = claims.token()
    assert set(claims.statuses(token).values()) == {200}
    assert set(claims.statuses(token).values()) == {200}  # again: jwt_authn's token cache


def test_token_without_iat(claims: Claims) -> None:
    before = len(claims.up.requests)
    token = claims.token(iat=None)
    for _ in range(2):  # the second time from jwt_authn's token cache
        assert claims.statuses(token) == {
            "/iat/x": 401,
            "/nbf/x": 200,
            "/both/x": 401,
            "/plain/x": 200,
            "/open/x": 200,
            "/mixed/x": 200,
            "/mixed/strict/x": 401,
        }
    assert len(claims.up.requests) == before + 2 * 4  # the refused never reached it


def test_token_without_nbf(claims: Claims) -> None:
    statuses = claims.statuses(claims.token(nbf=None))
    assert [p for p, s in statuses.items() if s != 200] == ["/nbf/x", "/both/x"]


def test_token_without_either_and_not_yet_valid(claims: Claims) -> None:
    statuses = claims.statuses(claims.token(iat=None, nbf=None))
    refused = ["/iat/x", "/nbf/x", "/both/x", "/mixed/strict/x"]
    assert [p for p, s in statuses.items() if s != 200] == refused
    # a present nbf is checked by Envoy itself, required or not
    later = claims.token(nbf=int(time.time()) + 120)
    assert {claims.get(p, later).status_code for p in ("/nbf/x", "/plain/x")} == {401}


def test_refusal_is_a_401_with_the_error_response(claims: Claims) -> None:
    r = claims.get("/iat/x", claims.token(iat=None))
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-auth-failed"] == "jwt"
    assert r.json() == {"error": "Jwt has no iat claim", "status": 401}
    # the challenge jwt_authn gives a bad token (the request's URL as the realm)
    realm = claims.gw.url("/iat/x?q=1")
    r = claims.get("/iat/x?q=1", claims.token(iat=None))
    assert r.headers["www-authenticate"] == f'Bearer realm="{realm}", error="invalid_token"'
    # one errorResponse per listener (Envoy does not say which provider refused)
    r = claims.get("/nbf/x", claims.token(nbf=None))
    assert r.json() == {"error": "Jwt has no nbf claim", "status": 401}
    # as jwt_authn's own refusals: a bad signature, on the same route
    r = claims.get("/iat/x", SigningKey("claims").token(sub="x"))
    assert r.json() == {"error": "Jwt verification fails", "status": 401}


def test_claim_that_is_not_a_number_is_refused_by_envoy(claims: Claims) -> None:
    assert claims.get("/iat/x", claims.token(iat="yesterday")).status_code == 401
    assert claims.get("/nbf/x", claims.token(nbf="soon")).status_code == 401


def test_module_ip_deny_is_still_a_403(claims: Claims) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=5.0) as client:
        headers = {"authorization": f"Bearer {claims.token(iat=None)}"}
        r = client.get(claims.gw.url("/iat/x"), headers=headers)
    assert r.status_code == 403  # refused before any token is looked at
