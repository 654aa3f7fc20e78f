"""Endpoint routing: resolvers, EndpointSlice / Endpoints parsing and port choice."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileCache, CompileOptions, CompileResult, compile_config
from legation.envoy.translator import Translator, translate
from legation.ir.clusters import Discovery
from legation.ir.endpoints import Endpoint
from legation.ir.provenance import Source
from legation.model.raw import RawObject


def raw(doc: dict[str, Any], name: str = "f.yaml") -> RawObject:
    """A document as the folder source would produce it."""
    return RawObject(doc=doc, source=Source(name, 1))


def mapping(name: str, service: str, resolver: str | None = "kubernetes-endpoint") -> RawObject:
    spec: dict[str, Any] = {"prefix": f"/{name}/", "service": service}
    if resolver is not None:
        spec["resolver"] = resolver
    return raw(
        {
            "apiVersion": "getambassador.io/v3alpha1",
            "kind": "Mapping",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": spec,
        }
    )


def ambassador(kind: str, name: str, **spec: Any) -> RawObject:
    return raw(
        {"apiVersion": "getambassador.io/v3alpha1", "kind": kind, "metadata": {"name": name}}
        | ({"spec": spec} if spec else {})
    )


def endpoint_slice(
    name: str, ports: list[dict[str, Any]], addresses: list[tuple[str, bool | None]]
) -> RawObject:
    endpoints = []
    for address, ready in addresses:
        ep: dict[str, Any] = {"addresses": [address]}
        if ready is not None:
            ep["conditions"] = {"ready": ready}
        endpoints.append(ep)
    return raw(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": name,
                "namespace": "shop",
                "labels": {"kubernetes.io/service-name": "quote"},
            },
            "addressType": "IPv4",
            "ports": ports,
            "endpoints": endpoints,
        }
    )


def service(ports: list[dict[str, Any]]) -> RawObject:
    return raw(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "quote", "namespace": "shop"},
            "spec": {"ports": ports},
        }
    )


def endpoints_of(result: CompileResult) -> dict[str, tuple[Endpoint, ...]]:
    return {a.cluster: a.endpoints for a in result.gateway.load_assignments}


def messages(result: CompileResult) -> list[str]:
    return [p.message for p in result.problems]


SLICE = endpoint_slice(
    "quote-1",
    [{"name": "http", "port": 8080}, {"name": "admin", "port": 9000}],
    [("10.0.0.2", None), ("10.0.0.1", True), ("10.0.0.3", False)],
)


def test_ready_endpoints_by_port_number_without_service() -> None:
    result = compile_config([mapping("q", "quote:8080"), SLICE])
    assert endpoints_of(result) == {
        "eds_quote_shop_8080": (Endpoint("10.0.0.1", 8080), Endpoint("10.0.0.2", 8080))
    }
    (cluster,) = result.gateway.clusters
    assert cluster.discovery is Discovery.EDS
    assert result.problems == ()


def test_service_port_picks_endpoint_port_by_name() -> None:
    svc = service([{"name": "http", "port": 80, "targetPort": 8080}, {"name": "admin", "port": 90}])
    result = compile_config([mapping("q", "quote.shop:80"), SLICE, svc])
    assert [e.port for e in endpoints_of(result)["eds_quote_shop_80"]] == [8080, 8080]
    named = service([{"name": "web", "port": 80, "targetPort": "admin"}])
    result = compile_config([mapping("q", "quote.shop:80"), SLICE, named])
    assert [e.port for e in endpoints_of(result)["eds_quote_shop_80"]] == [9000, 9000]


def test_missing_endpoints_is_a_notice_and_an_empty_assignment() -> None:
    result = compile_config([mapping("q", "quote:8080")])
    assert endpoints_of(result) == {"eds_quote_shop_8080": ()}
    assert result.errors == ()
    assert any("no EndpointSlice" in m and "503" in m for m in messages(result))
    wrong_port = compile_config([mapping("q", "quote:1234"), SLICE])
    assert endpoints_of(wrong_port) == {"eds_quote_shop_1234": ()}
    assert any("no ready endpoint on that port" in m for m in messages(wrong_port))


def test_legacy_endpoints_are_read_when_no_slice_exists() -> None:
    legacy = raw(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "quote", "namespace": "shop"},
            "subsets": [
                {
                    "addresses": [{"ip": "10.2.0.1"}],
                    "notReadyAddresses": [{"ip": "10.2.0.9"}],
                    "ports": [{"port": 7000}],
                }
            ],
        }
    )
    result = compile_config([mapping("q", "quote"), legacy])
    assert endpoints_of(result) == {"eds_quote_shop": (Endpoint("10.2.0.1", 7000),)}


def test_unknown_resolver_is_an_error_and_consul_a_notice() -> None:
    result = compile_config(
        [
            mapping("typo", "quote", resolver="nope"),
            mapping("consul", "quote", resolver="consul-dc1"),
            ambassador("ConsulResolver", "consul-dc1", address="consul:8500"),
        ]
    )
    assert any("unknown resolver 'nope'" in e.message for e in result.errors)
    assert [c.discovery for c in result.gateway.clusters] == [Discovery.STRICT_DNS]
    notices = [m for m in messages(result) if "ConsulResolver is not supported yet" in m]
    assert len(notices) == 2  # on the resolver and on the Mapping using it


def test_declared_resolvers_and_the_default() -> None:
    objects = [
        ambassador("KubernetesEndpointResolver", "endpoint"),
        ambassador("KubernetesServiceResolver", "address"),
        mapping("a", "quote:8080", resolver="endpoint"),
        mapping("b", "quote:8081", resolver="address"),
        mapping("c", "quote:8082", resolver=None),
    ]
    result = compile_config(objects)
    kinds = {c.name: c.discovery for c in result.gateway.clusters}
    assert kinds == {
        "eds_quote_shop_8080": Discovery.EDS,
        "cluster_quote_8081": Discovery.STRICT_DNS,
        "cluster_quote_8082": Discovery.STRICT_DNS,
    }


def test_endpoint_change_changes_only_eds_and_reuses_routes() -> None:
    cache, translator = CompileCache(), Translator()
    objects = [mapping("q", "quote:8080"), SLICE]
    first = compile_config(objects, CompileOptions(), cache)
    before = translator.translate(first.gateway).to_data()
    smaller = endpoint_slice("quote-1", [{"name": "http", "port": 8080}], [("10.0.0.1", None)])
    second = compile_config([objects[0], smaller], CompileOptions(), cache)
    after = translator.translate(second.gateway).to_data()
    assert after["endpoints"] != before["endpoints"]
    for kind in ("listeners", "routes", "clusters"):
        assert after[kind] == before[kind]
    route = first.gateway.route_configs[0].virtual_hosts[0].routes[0]
    assert second.gateway.route_configs[0].virtual_hosts[0].routes[0] is route
    # and the incremental result equals a fresh compile
    assert after == translate(compile_config([objects[0], smaller]).gateway).to_data()


def test_resolver_change_is_picked_up_incrementally() -> None:
    cache = CompileCache()
    m = mapping("q", "quote:8080", resolver="mine")
    declared = ambassador("KubernetesEndpointResolver", "mine")
    first = compile_config([m, declared], CompileOptions(), cache)
    assert first.gateway.clusters[0].discovery is Discovery.EDS
    as_service = ambassador("KubernetesServiceResolver", "mine")
    second = compile_config([m, as_service], CompileOptions(), cache)
    fresh = compile_config([m, as_service])
    assert second.gateway == fresh.gateway
    assert second.gateway.clusters[0].discovery is Discovery.STRICT_DNS


def test_eds_cluster_carries_the_mappings_cluster_options() -> None:
    m = mapping("q", "quote:8080")
    spec = dict(m.doc["spec"], load_balancer={"policy": "least_request"})
    with_options = raw(dict(m.doc, spec=spec))
    result = compile_config([with_options, SLICE])
    (cluster,) = translate(result.gateway).to_data()["clusters"]
    assert cluster["type"] == "EDS" and cluster["lb_policy"] == "LEAST_REQUEST"
    assert cluster["name"].startswith("eds_quote_shop_8080_")  # named apart from the default
