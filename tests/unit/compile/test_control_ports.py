"""Mappings and TCPMappings may not target the gateway's own control ports."""

from __future__ import annotations

from typing import Any

import pytest

from legation.compile.compiler import CompileOptions, compile_config
from legation.compile.control_ports import is_local_host
from legation.ir.provenance import Source
from legation.model.raw import RawObject


def doc(kind: str, name: str, **spec: Any) -> RawObject:
    body = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }
    return RawObject(doc=body, source=Source("c.yaml", 1))


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.9.8.7",
        "127.1",
        "2130706433",
        "0x7f.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "::",
        "localhost",
        "LOCALHOST.",
        "api.localhost",
    ],
)
def test_local_hosts(host: str) -> None:
    assert is_local_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "example.com", "localhost.example.com", "::2"])
def test_other_hosts(host: str) -> None:
    assert not is_local_host(host)


def test_own_names_count_as_local() -> None:
    assert is_local_host("Gateway-Pod-1", {"gateway-pod-1"})
    assert is_local_host("10.2.3.4", {"10.2.3.4"})
    assert not is_local_host("10.2.3.5", {"10.2.3.4"})


def routed(result: Any) -> set[str]:
    return {
        t.mapping
        for rc in result.gateway.route_configs
        for vh in rc.virtual_hosts
        for r in vh.routes
        for t in r.targets
    }


def test_mapping_to_a_control_port_is_an_error_on_service() -> None:
    options = CompileOptions(control_ports=frozenset({8877, 19001}), local_names=frozenset({"me"}))
    result = compile_config(
        [
            doc("Mapping", "diag", prefix="/d/", service="127.0.0.1:8877"),
            doc("Mapping", "admin", prefix="/a/", service="http://me:19001"),
            doc("Mapping", "shadow", prefix="/ok/", service="localhost:19001", shadow=True),
            doc("Mapping", "ok", prefix="/ok/", service="echo:8877"),
            doc("Mapping", "other-port", prefix="/p/", service="127.0.0.1:9999"),
        ],
        options,
    )
    by_resource = {e.resource: e for e in result.errors}
    assert set(by_resource) == {
        "Mapping/diag.default",
        "Mapping/admin.default",
        "Mapping/shadow.default",
    }
    for error in by_resource.values():
        assert error.field == "spec.service"
        assert "control port" in error.message
    assert "127.0.0.1:8877" in by_resource["Mapping/diag.default"].message
    assert routed(result) == {"Mapping/ok.default", "Mapping/other-port.default"}
    assert all(c.port != 19001 for c in result.gateway.clusters)


def test_only_the_given_ports_are_refused() -> None:
    mappings = [doc("Mapping", "admin", prefix="/a/", service="127.0.0.1:8001")]
    assert compile_config(mappings).errors == ()  # admin on a Unix socket: 8001 is free
    refused = compile_config(mappings, CompileOptions(control_ports=frozenset({8001})))
    assert [e.resource for e in refused.errors] == ["Mapping/admin.default"]


def test_tcpmapping_to_a_control_port_is_an_error_on_service() -> None:
    result = compile_config(
        [
            doc("TCPMapping", "xds", port=9000, service="[::1]:18000"),
            doc("TCPMapping", "db", port=9001, service="db:18000"),
        ],
        CompileOptions(control_ports=frozenset({8877, 18000})),
    )
    (error,) = result.errors
    assert (error.resource, error.field) == ("TCPMapping/xds.default", "spec.service")
    assert "[::1]:18000" in error.message
    assert [lst.port for lst in result.gateway.listeners] == [8080, 9001]


def test_endpoints_on_a_control_port_are_left_out_with_an_error() -> None:
    endpoints = RawObject(
        doc={
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "quote", "namespace": "shop"},
            "subsets": [
                {"addresses": [{"ip": "127.0.0.1"}, {"ip": "10.0.0.7"}], "ports": [{"port": 8877}]}
            ],
        },
        source=Source("ep.yaml", 3),
    )
    result = compile_config(
        [
            doc("KubernetesEndpointResolver", "endpoint"),
            doc("Mapping", "quote", prefix="/q/", service="quote.shop:8877", resolver="endpoint"),
            endpoints,
        ]
    )
    (assignment,) = result.gateway.load_assignments
    assert [(e.address, e.port) for e in assignment.endpoints] == [("10.0.0.7", 8877)]
    (error,) = result.errors
    assert error.resource == "Endpoints/quote.shop" and error.source.location == "ep.yaml"
    assert "127.0.0.1:8877" in error.message and "control port" in error.message
