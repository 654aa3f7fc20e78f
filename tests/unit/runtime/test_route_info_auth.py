"""route_info's `oauth2`: the login a route gets, none, or refused with the reason."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.runtime.state import route_info

OAUTH2 = {
    "authorizationURL": "http://idp.test/oidc",
    "authorizationEndpoint": "http://idp.test/oidc/authorize",
    "tokenEndpoint": "http://idp.test/oidc/token",
    "clientID": "app",
}


def _doc(kind: str, name: str, spec: dict[str, Any]) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return RawObject(doc=doc, source=Source("in.yaml", 1))


def test_route_info_names_the_login_or_why_it_refuses() -> None:
    objects = [
        _doc("Mapping", name, {"prefix": f"/{name}/", "service": "up"})
        for name in ("a", "open", "broken")
    ]
    objects += [
        _doc("Mapping", "moved", {"prefix": "/moved/", "host_redirect": True, "service": "x.test"}),
        _doc("Filter", "fa", {"OAuth2": {**OAUTH2, "secret": "s"}}),
        _doc("Filter", "fb", {"OAuth2": {**OAUTH2, "secretName": "missing"}}),
        _doc(
            "FilterPolicy",
            "p",
            {
                "rules": [
                    {"path": "/a/*", "filters": [{"name": "fa"}]},
                    {"path": "/moved/*", "filters": [{"name": "fa"}]},
                    {"path": "/broken/*", "filters": [{"name": "fb"}]},
                ]
            },
        ),
    ]
    table = {r["mappings"][0]: r["oauth2"] for r in route_info(compile_config(objects).gateway)}
    assert table["Mapping/a.default"] == {
        "mode": "login",
        "login": "fa.default",
        "filter": "Filter/fa.default",
    }
    assert table["Mapping/open.default"] is None
    assert table["Mapping/moved.default"] is None  # Envoy answers a redirect itself
    broken = table["Mapping/broken.default"]
    assert broken["mode"] == "refused"
    assert "Filter/fb.default" in broken["reason"] and "missing" in broken["reason"]
