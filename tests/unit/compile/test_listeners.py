"""Listener resources in compile: ports replace the defaults, host binding, notices."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.ir.errors import Severity
from tests.unit.compile.test_hosts import doc


def listener(name: str, port: int, **spec: Any) -> Any:
    spec.setdefault("protocol", "HTTP")
    spec.setdefault("securityModel", "XFP")
    spec.setdefault("hostBinding", {"namespace": {"from": "ALL"}})
    return doc("Listener", name, port=port, **spec)


def test_listeners_replace_the_default_ports_and_take_selected_hosts() -> None:
    result = compile_config(
        [
            listener("a", 9000, hostBinding={"selector": {"matchLabels": {"x": "1"}}}),
            doc("Host", "picked", {"x": "1"}, hostname="p.test"),
            doc("Host", "left", hostname="l.test"),
            doc("Mapping", "m", prefix="/m/", service="m", hostname="*"),
        ]
    )
    assert [li.port for li in result.gateway.listeners] == [9000]
    (config,) = result.gateway.route_configs
    assert [vh.name for vh in config.virtual_hosts] == ["host_picked.default"]
    notices = [p for p in result.problems if p.resource == "Host/left.default"]
    assert [p.severity for p in notices] == [Severity.NOTICE]
    assert "no Listener" in notices[0].message


def test_only_invalid_listeners_keep_the_default_ports() -> None:
    result = compile_config([listener("bad", 9000, protocolStack=["HTTP", "TCP"])])
    assert [li.port for li in result.gateway.listeners] == [8080]
    assert [p.field for p in result.errors] == ["spec.protocol"]


def test_tcpmapping_on_an_http_listener_port_is_an_error() -> None:
    result = compile_config([listener("a", 9000), doc("TCPMapping", "t", port=9000, service="t:1")])
    assert [(p.resource, p.field) for p in result.errors] == [("TCPMapping/t.default", "spec.port")]
