"""requireIssuedAt / requireNotBefore: the providers that require a claim keep accepted
tokens in the dynamic metadata, a second RBAC after jwt_authn denies tokens without
the claim, and the denial is mapped to a 401 (only where some route needs it)."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileCache, compile_config
from legation.envoy.translator import Translator
from legation.model.raw import RawObject
from tests.unit.docs import raw_doc as _doc

JWKS = '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'
CLAIMS = "envoy.filters.http.rbac/jwt-claims"


def _objects(**filters: dict[str, Any]) -> list[RawObject]:
    """Mappings /a/ /b/ /open/; Filter `fa` on /a/, `fa` and `fb` (both) on /b/."""
    objects = [
        _doc("Mapping", n, {"prefix": f"/{n}/", "service": "up"}) for n in ("a", "b", "open")
    ]
    objects += [_doc("Filter", n, {"JWT": {"jwks": JWKS, **spec}}) for n, spec in filters.items()]
    rules = [
        {"path": "/a/*", "filters": [{"name": "fa"}]},
        {"path": "/b/*", "filters": [{"name": "fa"}, {"name": "fb"}]},
    ]
    return [*objects, _doc("FilterPolicy", "p", {"rules": rules})]


def _hcm(objects: list[RawObject]) -> dict[str, Any]:
    result = compile_config(objects)
    assert not result.errors, result.errors
    data: dict[str, Any] = Translator().translate(result.gateway).to_data()
    hcm: dict[str, Any] = data["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm


def _filters(hcm: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: f["typed_config"] for f in hcm["http_filters"]}


def test_no_required_claims_no_second_rbac() -> None:
    hcm = _hcm(_objects(fa={}, fb={}))
    filters = _filters(hcm)
    assert CLAIMS not in filters
    providers = filters["envoy.filters.http.jwt_authn"]["providers"]
    assert all("payload_in_metadata" not in p for p in providers.values())
    assert len(hcm["local_reply_config"]["mappers"]) == 1  # jwt_authn's own


def test_required_claims_are_denied_after_jwt_authn() -> None:
    hcm = _hcm(_objects(fa={"requireIssuedAt": True}, fb={"requireNotBefore": True}))
    names = [f["name"] for f in hcm["http_filters"]]
    assert names[names.index("envoy.filters.http.jwt_authn") + 1] == CLAIMS
    providers = _filters(hcm)["envoy.filters.http.jwt_authn"]["providers"]
    assert providers["default/fa"]["payload_in_metadata"] == "payload:default/fa"
    assert providers["default/fa"]["header_in_metadata"] == "header:default/fa"
    rules = _filters(hcm)[CLAIMS]["rules"]
    assert rules.get("action", "ALLOW") == "DENY"
    assert set(rules["policies"]) == {"legation-jwt-no-iat", "legation-jwt-no-nbf"}
    (lacks,) = rules["policies"]["legation-jwt-no-iat"]["principals"]
    accepted, missing = lacks["and_ids"]["ids"]
    assert accepted["metadata"]["filter"] == "envoy.filters.http.jwt_authn"
    assert accepted["metadata"]["path"] == [{"key": "header:default/fa"}, {"key": "alg"}]
    assert missing["not_id"]["metadata"]["path"] == [{"key": "payload:default/fa"}, {"key": "iat"}]
    assert missing["not_id"]["metadata"]["value"] == {"present_match": True}
    (nbf,) = rules["policies"]["legation-jwt-no-nbf"]["principals"]
    assert nbf["and_ids"]["ids"][0]["metadata"]["path"][0] == {"key": "header:default/fb"}


def test_denials_become_401_with_the_error_response() -> None:
    error = {"bodyTemplate": "no: {{ .message }}", "headers": [{"name": "X-E", "value": "1"}]}
    hcm = _hcm(_objects(fa={"requireIssuedAt": True, "errorResponse": error}, fb={}))
    jwt, iat = hcm["local_reply_config"]["mappers"]
    assert "jwt_authn_access_denied" in str(jwt["filter"])
    expression = iat["filter"]["extension_filter"]["typed_config"]["expression"]
    assert "rbac_access_denied_matched_policy[legation-jwt-no-iat]" in expression
    assert iat["status_code"] == 401
    assert iat["body"]["inline_string"] == "Jwt has no iat claim"
    assert iat["body_format_override"]["text_format_source"]["inline_string"] == (
        "no: %LOCAL_REPLY_BODY%"
    )
    challenge, extra = (h["header"] for h in iat["headers_to_add"])
    assert challenge["key"] == "www-authenticate" and 'error="invalid_token"' in challenge["value"]
    assert extra == {"key": "X-E", "value": "1"}


def test_only_listeners_whose_routes_use_the_provider() -> None:
    # `fa` requires iat but no rule uses it: no second RBAC anywhere
    objects = _objects(fa={}, fb={})
    objects += [_doc("Filter", "unused", {"JWT": {"jwks": JWKS, "requireIssuedAt": True}})]
    assert CLAIMS not in _filters(_hcm(objects))


def test_turning_the_requirement_on_and_off_through_the_caches() -> None:
    cache, translator = CompileCache(), Translator()

    def chain(**fa: Any) -> list[str]:
        result = compile_config(_objects(fa=fa, fb={}), cache=cache)
        data: dict[str, Any] = translator.translate(result.gateway).to_data()
        hcm = data["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        return [f["name"] for f in hcm["http_filters"]]

    assert CLAIMS not in chain()
    assert CLAIMS in chain(requireIssuedAt=True)
    assert CLAIMS not in chain()
