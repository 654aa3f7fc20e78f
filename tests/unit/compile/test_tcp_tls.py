"""TCPMapping TLS termination by SNI, TCP / TLS Listeners, and redirect_cleartext_from."""

from __future__ import annotations

from functools import cache
from typing import Any

from legation.compile.compiler import CompileResult, compile_config
from legation.ir.listeners import Listener
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from tests.certs import TestCA
from tests.unit.compile.test_hosts import doc
from tests.unit.compile.test_listeners import listener


@cache
def _leaf(name: str) -> tuple[str, str]:
    leaf = TestCA().issue(name)
    return leaf.cert_pem.decode(), leaf.key_pem.decode()


def secret(name: str, hostname: str) -> RawObject:
    cert, key = _leaf(hostname)
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.crt": cert, "tls.key": key},
    }
    return RawObject(doc=body, source=Source(f"{name}.yaml", 1))


def by_name(result: CompileResult) -> dict[str, Listener]:
    return {li.name: li for li in result.gateway.listeners}


def problems(result: CompileResult, resource: str) -> list[tuple[str, str | None, str]]:
    return [
        (p.severity.value, p.field, p.message) for p in result.problems if p.resource == resource
    ]


def test_sni_tcpmapping_joins_the_https_listener_before_the_hosts_chains() -> None:
    result = compile_config(
        [
            secret("web", "web.test"),
            secret("db", "db.test"),
            doc("Host", "web", hostname="web.test", tlsSecret={"name": "web"}),
            doc("TLSContext", "db", hosts=["db.test"], secret="db", alpn_protocols="postgresql"),
            doc("TCPMapping", "db", port=8443, host="DB.test", service="db:5432"),
        ]
    )
    assert result.errors == ()
    https = by_name(result)["https-8443"]
    db, web = https.filter_chains
    assert (db.match.server_names, db.match.transport_protocol) == (("db.test",), "tls")
    assert db.tcp is not None and db.tls is not None and db.http is None
    assert db.tls.certificates == ("default/db",)
    assert db.tls.alpn_protocols == ("postgresql",)  # written: offered
    assert web.http is not None and web.match.server_names == ("web.test",)
    assert "tcp-8443" not in by_name(result)
    assert {s.name for s in result.gateway.secrets} == {"default/db", "default/web"}
    # the TLSContext is used (by the TCPMapping): no "no Host uses" notice
    assert problems(result, "TLSContext/db.default") == []


def test_certificate_choice_exact_host_then_tlscontext_then_wildcard() -> None:
    objects = [
        secret("star", "*.test"),
        secret("exact", "a.test"),
        secret("ctx", "b.test"),
        doc("Host", "star", hostname="*.test", tlsSecret={"name": "star"}),
        doc("Host", "a", hostname="a.test", tlsSecret={"name": "exact"}),
        doc("TLSContext", "b", hosts=["b.test"], secret="ctx"),
        doc("TCPMapping", "a", port=9000, host="a.test", service="a:1"),
        doc("TCPMapping", "b", port=9000, host="b.test", service="b:1"),
        doc("TCPMapping", "c", port=9000, host="c.test", service="c:1"),
    ]
    result = compile_config(objects)
    chains = {c.name: c for c in by_name(result)["tcp-9000"].filter_chains}
    certs = {name: c.tls.certificates if c.tls else None for name, c in chains.items()}
    assert certs == {
        "a.test": ("default/exact",),
        "b.test": ("default/ctx",),
        "c.test": ("default/star",),
    }
    # a Host's default ALPN (h2, http/1.1) is not offered to a raw TCP client
    assert all(c.tls is not None and c.tls.alpn_protocols == () for c in chains.values())


def test_host_with_the_tcpmappings_sni_loses_its_tls_chain() -> None:
    result = compile_config(
        [
            secret("shell", "shell.test"),
            secret("other", "other.test"),
            doc("Host", "shell", hostname="shell.test", tlsSecret={"name": "shell"}),
            doc("TLSContext", "ctx", hosts=["shell.test"], secret="other"),
            doc("Host", "keep", hostname="keep.test", tlsSecret={"name": "other"}),
            doc("TCPMapping", "shell", port=8443, host="shell.test", service="s:22"),
        ]
    )
    chains = by_name(result)["https-8443"].filter_chains
    assert [c.match.server_names for c in chains] == [("shell.test",), ("keep.test",)]
    ((severity, _, message),) = problems(result, "Host/shell.default")
    assert severity == "notice" and "TCPMapping/shell.default" in message
    assert "with this Host's certificate" in message


def test_sni_without_certificate_passes_tls_through_and_bad_certificate_is_an_error() -> None:
    result = compile_config(
        [
            doc("TLSContext", "broken", hosts=["broken.test"], secret="missing"),
            doc("TCPMapping", "pass", port=9000, host="pass.test", service="p:1"),
            doc("TCPMapping", "broken", port=9000, host="broken.test", service="b:1"),
        ]
    )
    (chain,) = by_name(result)["tcp-9000"].filter_chains
    assert chain.tls is None and chain.match.server_names == ("pass.test",)
    assert [(s, f) for s, f, _ in problems(result, "TCPMapping/pass.default")] == [
        ("notice", "spec.host")
    ]
    ((severity, field, message),) = problems(result, "TCPMapping/broken.default")
    assert (severity, field) == ("error", "spec.host")
    assert "default/missing does not exist" in message


def test_tcp_and_tls_listeners_take_the_tcpmappings_of_their_port() -> None:
    result = compile_config(
        [
            secret("a", "a.test"),
            doc("Host", "a", hostname="a.test", tlsSecret={"name": "a"}),
            listener("web", 8080),
            listener("tls", 9000, protocol="TLS"),
            listener("raw", 9001, protocol=None, protocolStack=["PROXY", "TCP"], statsPrefix="raw"),
            doc("TCPMapping", "a", port=9000, host="a.test", service="a:1"),
            doc("TCPMapping", "rest", port=9000, service="r:1"),
            doc("TCPMapping", "raw", port=9001, service="x:1"),
            doc("TCPMapping", "no-tls", port=9001, host="b.test", service="y:1", weight=5),
            doc("TCPMapping", "own", port=9100, service="o:1"),
        ]
    )
    names = by_name(result)
    assert sorted(names) == ["listener-8080", "listener-9000", "listener-9001", "tcp-9100"]
    a, rest = names["listener-9000"].filter_chains
    assert (
        a.tls is not None and a.tcp is not None and a.tcp.stat_prefix == "ingress_tls_9000_a_test"
    )
    assert rest.tls is None and rest.match.server_names == ()
    raw = names["listener-9001"]
    assert raw.proxy_protocol and [c.tcp.stat_prefix for c in raw.filter_chains if c.tcp] == ["raw"]
    ((severity, field, message),) = problems(result, "TCPMapping/no-tls.default")
    assert (severity, field) == ("error", "spec.port") and "no TLS" in message


def test_idle_tcp_listener_and_udp_protocol() -> None:
    result = compile_config(
        [listener("idle", 9000, protocol="TCP"), listener("quic", 9001, protocol="UDP")]
    )
    assert [li.name for li in result.gateway.listeners] == []
    assert [s for s, _, _ in problems(result, "Listener/idle.default")] == ["notice"]
    ((severity, field, message),) = problems(result, "Listener/quic.default")
    assert (severity, field, message) == ("error", "spec.protocol", "UDP (HTTP/3) is not supported")


def _host_with_context(**context: Any) -> list[RawObject]:
    return [
        secret("a", "a.test"),
        doc("TLSContext", "ctx", hosts=["a.test"], secret="a", **context),
        doc("Host", "a", hostname="a.test", tlsSecret={"name": "a"}),
        doc("Mapping", "m", prefix="/", service="m", hostname="*"),
    ]


def test_redirect_cleartext_from_the_http_port_redirects() -> None:
    result = compile_config(_host_with_context(redirect_cleartext_from="8080"))
    assert result.problems == ()
    http = next(c for c in result.gateway.route_configs if c.name == "http-8080")
    (vh,) = http.virtual_hosts
    assert [r.name for r in vh.routes if r.options.redirect and r.options.redirect.https] == [
        "host_a.default-https-redirect"
    ]


def test_redirect_cleartext_from_other_port_bad_value_and_host_action() -> None:
    other = compile_config(_host_with_context(redirect_cleartext_from=9999))
    ((severity, field, message),) = problems(other, "TLSContext/ctx.default")
    assert (severity, field) == ("notice", "spec.redirect_cleartext_from")
    assert "port 9999 serves no cleartext HTTP" in message
    bad = compile_config(_host_with_context(redirect_cleartext_from="http"))
    ((severity, field, message),) = problems(bad, "TLSContext/ctx.default")
    assert (severity, field) == ("error", "spec.redirect_cleartext_from")
    assert "expected a port number" in message
    objects = _host_with_context(redirect_cleartext_from=8080)
    objects[2] = doc(
        "Host",
        "a",
        hostname="a.test",
        tlsSecret={"name": "a"},
        requestPolicy={"insecure": {"action": "Route"}},
    )
    routed = compile_config(objects)
    ((severity, field, message),) = problems(routed, "Host/a.default")
    assert (severity, field) == ("notice", "spec.requestPolicy.insecure.action")
    assert message.startswith("Route wins over redirect_cleartext_from")


def test_tlscontext_used_only_for_tcpmapping_origination_is_not_unused() -> None:
    result = compile_config(
        [
            doc("TLSContext", "up", sni="db.internal"),
            doc("TCPMapping", "db", port=9000, service="db:5432", tls="up"),
        ]
    )
    assert result.problems == ()
    (cluster,) = result.gateway.clusters
    assert cluster.upstream_tls is not None and cluster.upstream_tls.sni == "db.internal"
