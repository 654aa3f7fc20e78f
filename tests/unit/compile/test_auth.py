"""AuthService compile: balancing, agreement, failing closed; and the translator picks
up an AuthService that appears while the routes stay the same objects."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileCache, compile_config
from legation.envoy.translator import Translator
from legation.ir.provenance import Source
from legation.model.raw import RawObject

EXT_AUTHZ = "envoy.filters.http.ext_authz"


def _doc(kind: str, name: str, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return RawObject(doc=doc, source=Source(f"{name}.yaml", 1))


def test_several_auth_services_are_balanced_and_must_agree() -> None:
    objects = [
        _doc("AuthService", "a", auth_service="a:80", allowed_authorization_headers=["X-A"]),
        _doc("AuthService", "b", auth_service="b:81", allowed_authorization_headers=["x-b"]),
        _doc("AuthService", "c", auth_service="c:80", timeout_ms=10),
    ]
    result = compile_config(objects)
    auth = result.gateway.auth
    assert auth is not None
    assert auth.endpoints == (("a", 80), ("b", 81))
    assert {"x-a", "x-b", "www-authenticate"} <= set(auth.allowed_authorization_headers)
    (error,) = result.errors
    assert error.resource == "AuthService/c.default"
    assert error.field == "spec.timeout_ms" and "must agree" in error.message


def test_no_working_auth_service_refuses_instead_of_allowing() -> None:
    objects = [_doc("AuthService", "a", auth_service="a:80", failure_mode_allow=True, bogus=1)]
    objects.append(_doc("Mapping", "m", prefix="/m/", service="s"))
    result = compile_config(objects)
    auth = result.gateway.auth
    assert auth is not None and auth.broken is not None and auth.endpoints == ()
    data = Translator().translate(result.gateway).to_data()
    hcm = data["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (config,) = [f["typed_config"] for f in hcm["http_filters"] if f["name"] == EXT_AUTHZ]
    assert "failure_mode_allow" not in config  # false: closed
    (cluster,) = [c for c in data["clusters"] if c["name"] == auth.cluster.name]
    assert not cluster["load_assignment"].get("endpoints")


def _per_route(data: dict[str, Any]) -> dict[str, Any]:
    routes = data["routes"][0]["virtual_hosts"][0]["routes"]
    return {r["match"]["prefix"]: r.get("typed_per_filter_config", {}) for r in routes}


def test_an_auth_service_appearing_retranslates_unchanged_routes() -> None:
    mappings = [
        _doc("Mapping", "open", prefix="/open/", service="s", bypass_auth=True),
        _doc("Mapping", "app", prefix="/app/", service="s"),
    ]
    cache, translator = CompileCache(), Translator(route_matcher="list")
    first = translator.translate(compile_config(mappings, cache=cache).gateway).to_data()
    assert _per_route(first) == {"/open/": {}, "/app/": {}}
    with_auth = [*mappings, _doc("AuthService", "a", auth_service="a:80")]
    second = translator.translate(compile_config(with_auth, cache=cache).gateway).to_data()
    per_route = _per_route(second)
    assert per_route["/open/"][EXT_AUTHZ]["disabled"] is True
    assert per_route["/app/"] == {}
    third = translator.translate(compile_config(mappings, cache=cache).gateway).to_data()
    assert _per_route(third) == {"/open/": {}, "/app/": {}}
