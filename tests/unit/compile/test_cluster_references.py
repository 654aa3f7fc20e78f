"""Invariant: every cluster a route names exists (in the IR and in the xDS output).

A route naming a missing cluster answers 503 at run time although `check` said OK, as
a canary group mixing a host_redirect Mapping with others once did.
"""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_pb2
from hypothesis import given, settings

from legation.compile.compiler import compile_config
from legation.envoy.translator import translate
from legation.model.raw import RawObject
from tests.unit.compile.test_incremental import mapping, mapping_sets


def _route_clusters(route: Any) -> set[str]:
    action = route.route
    names = {w.name for w in action.weighted_clusters.clusters}
    if action.cluster:
        names.add(action.cluster)
    names |= {m.cluster for m in action.request_mirror_policies}
    return names


def envoy_route_clusters(packed: Any) -> set[str]:
    """Clusters named by the routes of one packed RouteConfiguration (a route list)."""
    config = route_pb2.RouteConfiguration()
    assert packed.Unpack(config)
    assert not any(vh.HasField("matcher") for vh in config.virtual_hosts)
    return {c for vh in config.virtual_hosts for r in vh.routes for c in _route_clusters(r)}


def check_references(objects: list[RawObject]) -> None:
    """Every cluster named by an IR route or an Envoy route is defined."""
    gateway = compile_config(objects).gateway
    defined = {c.name for c in gateway.clusters}
    for rc in gateway.route_configs:
        for vh in rc.virtual_hosts:
            for route in vh.routes:
                named = {t.cluster for t in route.targets} | {m.cluster for m in route.mirrors}
                assert named <= defined, (route.name, named - defined)
    xds = translate(gateway)
    for packed in xds.routes.values():
        missing = envoy_route_clusters(packed) - xds.clusters.keys()
        assert not missing, missing


@settings(max_examples=60, deadline=None)
@given(mapping_sets())
def test_routes_only_name_existing_clusters(objects: list[RawObject]) -> None:
    check_references(objects)


def test_redirect_mixed_into_a_group_names_no_missing_cluster() -> None:
    """The case that once made half the requests fail: a proxy and a redirect, one match."""
    objects = [
        mapping("mapping-1", "/a/", "backend:80"),
        mapping("mapping-2", "/a/", "elsewhere.example.com", host_redirect=True),
    ]
    check_references(objects)
    result = compile_config(objects)
    [route] = result.gateway.route_configs[0].virtual_hosts[-1].routes
    assert route.mappings == ("Mapping/mapping-1.default",)
    assert [t.weight for t in route.targets] == [100] and route.runtime_fraction is None
    [error] = result.errors
    assert error.resource == "Mapping/mapping-2.default"
    assert "with host_redirect after mappings without host_redirect (eg mapping-1)" in error.message
