"""Compiling the traffic settings of Mappings: cluster identity, Module defaults,
shadows and redirects."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileCache, CompileOptions, compile_config
from legation.envoy.translator import Translator, translate
from legation.ir.gateway import Gateway
from legation.ir.policies import Mirror
from legation.ir.provenance import Source
from legation.ir.routes import Route
from legation.ir.upstream import LbPolicy
from legation.model.raw import RawObject


def mapping(name: str, prefix: str, service: str, **extra: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name},
        "spec": {"prefix": prefix, "service": service, **extra},
    }
    return RawObject(doc=doc, source=Source(f"{name}.yaml", 1))


def module(**config: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Module",
        "metadata": {"name": "ambassador"},
        "spec": {"config": config},
    }
    return RawObject(doc=doc, source=Source("module.yaml", 1))


def routes(gateway: Gateway) -> dict[str, Route]:
    """Routes by the path they match."""
    return {
        r.match.path.value: r for vh in gateway.route_configs[0].virtual_hosts for r in vh.routes
    }


SMALL = [{"max_connections": 1}]
BIG = [{"max_connections": 1000, "priority": "high"}]


def test_cluster_settings_are_part_of_cluster_identity() -> None:
    objects = [
        mapping("a", "/a/", "svc:80", circuit_breakers=SMALL),
        mapping("b", "/b/", "svc:80", circuit_breakers=BIG),
        mapping("c", "/c/", "svc:80", circuit_breakers=SMALL),
        mapping("d", "/d/", "svc:80"),
    ]
    gw = compile_config(objects).gateway
    names = sorted(c.name for c in gw.clusters)
    assert len(names) == 3
    assert "cluster_svc_80" in names
    r = routes(gw)
    assert r["/a/"].targets[0].cluster == r["/c/"].targets[0].cluster  # same settings, shared
    assert r["/a/"].targets[0].cluster != r["/b/"].targets[0].cluster
    # the names come from the content: stable whatever else is in the configuration
    alone = compile_config([mapping("z", "/z/", "svc:80", circuit_breakers=BIG)]).gateway
    assert alone.clusters[0].name == r["/b/"].targets[0].cluster


def test_module_defaults_apply_when_mapping_sets_none() -> None:
    defaults = module(
        retry_policy={"retry_on": "5xx", "num_retries": 2},
        cors={"origins": "http://m.example"},
        load_balancer={"policy": "ring_hash", "source_ip": True},
        circuit_breakers=SMALL,
    )
    objects = [
        defaults,
        mapping("inherits", "/i/", "svc:80"),
        mapping("own", "/o/", "svc:80", retry_policy={"retry_on": "reset"},
                cors={"origins": ["*"]}, load_balancer={"policy": "least_request"},
                circuit_breakers=BIG),
    ]  # fmt: skip
    result = compile_config(objects)
    assert result.errors == ()
    r = routes(result.gateway)
    clusters = {c.name: c for c in result.gateway.clusters}
    inherits, own = r["/i/"], r["/o/"]
    assert inherits.options.retry is not None and inherits.options.retry.num_retries == 2
    assert inherits.options.cors is not None and inherits.options.cors.origins == (
        "http://m.example",
    )
    assert inherits.options.hash_policy is not None
    assert clusters[inherits.targets[0].cluster].options.lb_policy is LbPolicy.RING_HASH
    assert clusters[inherits.targets[0].cluster].options.circuit_breakers[0].max_connections == 1
    assert own.options.retry is not None and own.options.retry.retry_on == "reset"
    assert own.options.cors is not None and own.options.cors.origins == ("*",)
    assert own.options.hash_policy is None
    assert clusters[own.targets[0].cluster].options.lb_policy is LbPolicy.LEAST_REQUEST


def test_changing_module_defaults_recompiles_cached_mappings() -> None:
    cache, translator = CompileCache(), Translator()
    maps = [
        mapping("a", "/a/", "svc:80"),
        mapping("b", "/b/", "svc:80", retry_policy={"retry_on": "reset"}),
    ]
    first = [module(retry_policy={"retry_on": "5xx"}), *maps]
    translator.translate(compile_config(first, CompileOptions(), cache).gateway)
    second = [module(retry_policy={"retry_on": "gateway-error"}), *maps]  # same Mapping objects
    incremental = translator.translate(compile_config(second, CompileOptions(), cache).gateway)
    assert incremental.to_data() == translate(compile_config(second).gateway).to_data()
    retry = routes(compile_config(second, CompileOptions(), cache).gateway)["/a/"].options.retry
    assert retry is not None and retry.retry_on == "gateway-error"


def test_shadow_is_a_mirror_not_a_canary_member() -> None:
    result = compile_config(
        [
            mapping("main", "/s/", "main:80", weight=100),
            mapping("copy", "/s/", "copy:80", shadow=True),
            mapping("some", "/s/", "some:80", shadow=True, weight=25),
        ]
    )
    route = routes(result.gateway)["/s/"]
    assert [(t.cluster, t.weight) for t in route.targets] == [("cluster_main_80", 100)]
    assert route.mirrors == (
        Mirror("cluster_copy_80", 100, "Mapping/copy.default"),
        Mirror("cluster_some_80", 25, "Mapping/some.default"),
    )
    assert {c.name for c in result.gateway.clusters} >= {"cluster_copy_80", "cluster_some_80"}


def test_shadow_alone_is_a_notice_and_no_route() -> None:
    result = compile_config([mapping("lonely", "/l/", "copy:80", shadow=True)])
    assert routes(result.gateway) == {}
    assert [p.message for p in result.problems] == [
        "shadow Mapping with no ordinary Mapping of the same match to mirror; it has no effect"
    ]


def test_redirect_needs_no_cluster() -> None:
    result = compile_config(
        [mapping("r", "/r/", "https://example.com:8443", host_redirect=True, prefix_redirect="/n/")]
    )
    route = routes(result.gateway)["/r/"]
    assert route.targets == ()
    redirect = route.options.redirect
    assert redirect is not None
    assert (redirect.host, redirect.port, redirect.https, redirect.prefix) == (
        "example.com",
        8443,
        True,
        "/n/",
    )
    assert result.gateway.clusters == ()
