"""The discovery document's pure part: which raw Filters need one, and what a valid
document is (the fetching is in tests/unit/sources/test_oidc_discovery.py)."""

from __future__ import annotations

import json
from typing import Any

from legation.model.oidc_discovery import (
    OidcDiscovery,
    discovery_url,
    issuers_needing_discovery,
    parse_discovery,
)

ISSUER = "https://idp.test/oidc"


def oauth2(**spec: Any) -> dict[str, Any]:
    return {"kind": "Filter", "spec": {"OAuth2": spec}}


def test_only_filters_lacking_an_endpoint_need_discovery() -> None:
    docs = [
        oauth2(authorizationURL=ISSUER),
        oauth2(authorizationURL="https://b.test", tokenEndpoint="https://b.test/t"),
        oauth2(authorizationURL=ISSUER, authorizationEndpoint="x"),  # the same issuer: once
        oauth2(authorizationURL="https://c.test", authorizationEndpoint="a", tokenEndpoint="t"),
        oauth2(authorizationURL="ftp://d.test"),  # not http(s): compile reports it
        oauth2(),
        {"kind": "Filter", "spec": {"JWT": {}, "OAuth2": {"authorizationURL": "https://e"}}},
        {"kind": "Mapping", "spec": {"OAuth2": {"authorizationURL": "https://f"}}},
        {"kind": "Filter", "spec": "not a mapping"},
    ]
    assert issuers_needing_discovery(docs) == ["https://b.test", ISSUER]
    assert discovery_url(ISSUER + "/") == ISSUER + "/.well-known/openid-configuration"


def doc(**fields: Any) -> bytes:
    base = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/auth",
        "token_endpoint": ISSUER + "/token",
    }
    return json.dumps({**base, **fields}).encode()


def test_a_valid_document_gives_its_endpoints() -> None:
    assert parse_discovery(ISSUER, doc()) == OidcDiscovery(ISSUER + "/auth", ISSUER + "/token")
    logout = parse_discovery(ISSUER + "/", doc(end_session_endpoint=ISSUER + "/out"))
    assert isinstance(logout, OidcDiscovery) and logout.end_session_endpoint == ISSUER + "/out"


def test_what_is_wrong_with_a_bad_document() -> None:
    assert str(parse_discovery(ISSUER, b"<html>")).startswith("is not JSON (")
    assert parse_discovery(ISSUER, b"[1]") == "is not a JSON object (got list)"
    assert parse_discovery(ISSUER, doc(issuer="https://other.test")) == (
        "names issuer 'https://other.test', not the authorizationURL 'https://idp.test/oidc'"
    )
    assert parse_discovery(ISSUER, doc(token_endpoint=None)) == "has no token_endpoint"
    assert parse_discovery(ISSUER, doc(authorization_endpoint=3)) == (
        "has authorization_endpoint 3, not a URL"
    )
    assert parse_discovery(ISSUER, b"\xff") != ""  # not UTF-8: an error, not a crash
