"""TCPMapping: parsing, grouping by port and host, and the errors for conflicts."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileOptions, compile_config
from legation.ir.listeners import Listener
from legation.ir.provenance import Source
from legation.ir.tcp import TcpProxy, TcpTarget
from legation.model.raw import RawObject


def tcp(name: str, line: int = 1, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "TCPMapping",
        "metadata": {"name": name},
        "spec": spec,
    }
    return RawObject(doc=doc, source=Source("tcp.yaml", line))


def tcp_listeners(result: Any) -> list[Listener]:
    """The listeners that proxy TCP (every chain a TCP proxy)."""
    return [lst for lst in result.gateway.listeners if lst.filter_chains[0].tcp is not None]


def proxies(listener: Listener) -> list[TcpProxy]:
    """The TCP proxy of each chain, in order."""
    return [c.tcp for c in listener.filter_chains if c.tcp is not None]


def test_one_listener_per_port_with_weighted_group() -> None:
    result = compile_config(
        [
            tcp("blue", 1, port=6379, service="blue:6379", weight=80),
            tcp("green", 2, port=6379, service="green:6379", weight=20),
            tcp("pg", 3, port=5432, service="10.0.0.5:5432", idle_timeout_ms=1500),
        ]
    )
    assert result.errors == ()
    names = [(lst.name, lst.port) for lst in tcp_listeners(result)]
    assert names == [("tcp-5432", 5432), ("tcp-6379", 6379)]
    pg, redis = tcp_listeners(result)
    assert proxies(pg)[0].idle_timeout_ms == 1500
    assert proxies(redis)[0].targets == (
        TcpTarget("cluster_blue_6379", 80, "TCPMapping/blue.default"),
        TcpTarget("cluster_green_6379", 20, "TCPMapping/green.default"),
    )
    clusters = {c.name: c.mappings for c in result.gateway.clusters}
    assert clusters["cluster_10_0_0_5_5432"] == ("TCPMapping/pg.default",)


def test_unweighted_member_takes_the_rest() -> None:
    result = compile_config(
        [tcp("a", 1, port=7000, service="a:1"), tcp("b", 2, port=7000, service="b:1", weight=10)]
    )
    (listener,) = tcp_listeners(result)
    assert [(t.cluster, t.weight) for t in proxies(listener)[0].targets] == [
        ("cluster_a_1", 90),
        ("cluster_b_1", 10),
    ]


def test_conflicts_are_errors_on_the_later_resource() -> None:
    result = compile_config(
        [
            tcp("first", 1, port=7000, service="a:1"),
            tcp("second", 2, port=7000, service="b:1"),
            tcp("http", 3, port=8080, service="c:1"),
            tcp("bound", 4, port=7000, service="d:1", host="x.example.com", address="127.0.0.2"),
        ],
        CompileOptions(http_port=8080),
    )
    errors = {e.resource: (e.field, e.message) for e in result.errors}
    assert errors["TCPMapping/second.default"][0] == "spec.port"
    assert "already proxied by TCPMapping/first.default" in errors["TCPMapping/second.default"][1]
    assert "HTTP listener's port" in errors["TCPMapping/http.default"][1]
    assert errors["TCPMapping/bound.default"][0] == "spec.address"
    (listener,) = tcp_listeners(result)
    assert [t.mapping for r in proxies(listener) for t in r.targets] == ["TCPMapping/first.default"]


def test_sni_hosts_come_before_the_catch_all_and_get_a_notice() -> None:
    result = compile_config(
        [
            tcp("any", 1, port=8443, service="d:443"),
            tcp("b", 2, port=8443, service="b:443", host="B.example.com"),
            tcp("a", 3, port=8443, service="a:443", host="a.example.com"),
        ]
    )
    (listener,) = tcp_listeners(result)
    assert [c.match.server_names for c in listener.filter_chains] == [
        ("a.example.com",),
        ("b.example.com",),
        (),
    ]
    notices = [p for p in result.problems if p.field == "spec.host"]
    assert len(notices) == 2 and all("passed through" in p.message for p in notices)


def test_missing_and_bad_fields() -> None:
    result = compile_config(
        [
            tcp("no-service", port=7000),
            tcp("no-port", service="a:1"),
            tcp("bad-port", port=70000, service="a:1"),
            tcp("bad-service", port=7001, service="a:http"),
            tcp("typo", port=7002, service="a:1", wieght=3),
        ]
    )
    fields = sorted((e.resource or "", e.field or "") for e in result.errors)
    assert fields == [
        ("TCPMapping/bad-port.default", "spec.port"),
        ("TCPMapping/bad-service.default", "spec.service"),
        ("TCPMapping/no-port.default", "spec.port"),
        ("TCPMapping/no-service.default", "spec.service"),
        ("TCPMapping/typo.default", "spec.wieght"),
    ]
    assert tcp_listeners(result) == []
