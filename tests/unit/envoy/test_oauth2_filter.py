"""The oauth2 filter's place in the chain (one instance per login, after CORS and before
jwt_authn), its per-route settings, and its extra resources."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.envoy.translator import Translator
from tests.unit.docs import OAUTH2
from tests.unit.docs import raw_doc as _doc


def _translated() -> dict[str, Any]:
    objects = [
        _doc("Mapping", name, {"prefix": f"/{name}/", "service": "up", "cors": {"origins": ["*"]}})
        for name in ("a", "b", "jwt", "open")
    ]
    objects += [
        _doc("Filter", "fa", {"OAuth2": {**OAUTH2, "secret": "s"}}),
        _doc("Filter", "fb", {"OAuth2": {**OAUTH2, "secret": "s"}}),
        _doc("Filter", "j", {"JWT": {"jwks": '{"keys": []}'}}),
        _doc(
            "FilterPolicy",
            "p",
            {
                "rules": [
                    {"path": "/a/*", "filters": [{"name": "fa"}]},
                    {"path": "/b/*", "filters": [{"name": "fb"}]},
                    {"path": "/jwt/*", "filters": [{"name": "j"}]},
                ]
            },
        ),
    ]
    result = compile_config(objects)
    data: dict[str, Any] = Translator().translate(result.gateway).to_data()
    return data


def test_one_instance_per_login_between_cors_and_jwt() -> None:
    data = _translated()
    hcm = data["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    names = [f["name"] for f in hcm["http_filters"]]
    cors = names.index("envoy.filters.http.cors")
    assert names[cors + 1 : cors + 4] == [
        "envoy.filters.http.oauth2/fa.default",
        "envoy.filters.http.oauth2/fb.default",
        "envoy.filters.http.jwt_authn",
    ]
    assert names[-1] == "envoy.filters.http.router"


def test_each_route_turns_off_the_other_logins() -> None:
    routes = {
        r["match"]["prefix"]: r.get("typed_per_filter_config", {})
        for vh in _translated()["routes"][0]["virtual_hosts"]
        for r in vh["routes"]
    }
    fa, fb = "envoy.filters.http.oauth2/fa.default", "envoy.filters.http.oauth2/fb.default"
    assert fa not in routes["/a/"] and routes["/a/"][fb]["disabled"] is True
    assert fb not in routes["/b/"] and routes["/b/"][fa]["disabled"] is True
    for path in ("/open/", "/jwt/"):
        assert routes[path][fa]["disabled"] is True and routes[path][fb]["disabled"] is True


def test_secrets_and_token_cluster_are_extra_resources() -> None:
    data = _translated()
    names = {s["name"] for s in data["secrets"]}
    assert {"oauth2/fa.default/client-secret", "oauth2/fa.default/hmac"} <= names
    assert all(
        "<secret," in str(s["generic_secret"]) for s in data["secrets"] if "generic_secret" in s
    )
    assert any(c["name"].startswith("oauth2_idp_test_80") for c in data["clusters"])
