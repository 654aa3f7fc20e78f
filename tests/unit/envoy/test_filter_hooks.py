"""The filter hooks: `needed` per listener, route states in the route cache's key, and
extra resources in the output."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pytest
from envoy.config.cluster.v3 import cluster_pb2

import legation.envoy.filters as filters
from legation.compile.compiler import CompileCache, compile_config
from legation.envoy.filters.base import HttpFilter
from legation.envoy.resources import XdsResources
from legation.envoy.translator import Translator
from legation.ir.gateway import Gateway
from legation.ir.provenance import Source
from legation.ir.routes import Route
from legation.model.raw import RawObject


def _mapping(name: str, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"prefix": f"/{name}/", "service": "s", **spec},
    }
    return RawObject(doc=doc, source=Source(f"{name}.yaml", 1))


def _filter_names(gateway: Gateway) -> list[str]:
    data = Translator().translate(gateway).to_data()
    hcm = data["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return [f["name"] for f in hcm["http_filters"]]


def test_cors_only_where_some_route_has_a_policy() -> None:
    plain = compile_config([_mapping("a")]).gateway
    assert "envoy.filters.http.cors" not in _filter_names(plain)
    cors = {"origins": ["https://x.test"]}
    with_cors = compile_config([_mapping("a"), _mapping("b", cors=cors)]).gateway
    assert _filter_names(with_cors)[0] == "envoy.filters.http.cors"


class _Counting(HttpFilter):
    """A filter whose per-route output reads a gateway-level value (the cluster count)."""

    name = "test.counting"

    def route_state(self, gateway: Gateway) -> Hashable:
        return len(gateway.clusters)

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        out.name = f"{out.name}@{state}"

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        return XdsResources(clusters={"extra": cluster_pb2.Cluster(name="extra")})


def test_route_state_is_part_of_the_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filters, "HTTP_FILTERS", (_Counting(), *filters.HTTP_FILTERS))
    cache, translator = CompileCache(), Translator(route_matcher="list")
    one = [_mapping("a")]
    first = translator.translate(compile_config(one, cache=cache).gateway).to_data()
    names = [r["name"] for r in first["routes"][0]["virtual_hosts"][0]["routes"]]
    assert names and all(n.endswith("@1") for n in names)
    # route a's IR is the same object, but the state (2 clusters) changed: retranslated
    two = [*one, _mapping("b", service="t")]
    second = translator.translate(compile_config(two, cache=cache).gateway).to_data()
    names = [r["name"] for r in second["routes"][0]["virtual_hosts"][0]["routes"]]
    assert len(names) == 2 and all(n.endswith("@2") for n in names)
    assert "extra" in [c["name"] for c in second["clusters"]]


def test_warm_translator_follows_route_uses_as_they_come_and_go() -> None:
    """The route uses are remembered per route between builds: a warm translator and
    compile cache decide each listener's filters as a fresh translation does."""
    cache, translator = CompileCache(), Translator()
    cors = {"origins": ["https://x.test"]}
    limit = {"requests": 5, "unit": "minute"}
    steps = [
        [_mapping("a"), _mapping("b")],
        [_mapping("a"), _mapping("b", cors=cors)],
        [_mapping("a", local_rate_limit=limit), _mapping("b", cors=cors)],
        [_mapping("a", local_rate_limit=limit), _mapping("b")],
        [_mapping("a"), _mapping("b")],
    ]
    seen = []
    for objects in steps:
        gateway = compile_config(objects, cache=cache).gateway
        warm = translator.translate(gateway).to_data()
        hcm = warm["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        names = [f["name"] for f in hcm["http_filters"]]
        assert names == _filter_names(gateway)  # a fresh Translator
        seen.append(("envoy.filters.http.cors" in names, "local_ratelimit" in str(names)))
    assert seen == [(False, False), (True, False), (True, True), (False, True), (False, False)]
