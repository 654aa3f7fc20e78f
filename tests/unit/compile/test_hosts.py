"""Hosts: which Mappings each serves, hostname rules, insecure defaults, errors."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.compile.host_routes import globs_overlap
from legation.compile.hosts import hostname_error
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from tests.certs import TestCA


def doc(kind: str, name: str, labels: dict[str, str] | None = None, **spec: Any) -> RawObject:
    metadata: dict[str, Any] = {"name": name, "namespace": "default"}
    if labels:
        metadata["labels"] = labels
    body = {"apiVersion": "getambassador.io/v3alpha1", "kind": kind, "metadata": metadata}
    return RawObject(doc={**body, "spec": spec}, source=Source(f"{name}.yaml", 1))


def served(objects: list[RawObject]) -> dict[str, list[str]]:
    """Virtual host name → Mapping keys of its routes, on the cleartext route config."""
    result = compile_config(objects)
    (config,) = result.gateway.route_configs
    return {vh.name: [m for r in vh.routes for m in r.mappings] for vh in config.virtual_hosts}


def test_without_hosts_every_mapping_is_routed_as_before() -> None:
    out = served([doc("Mapping", "m", prefix="/m/", service="m")])
    assert out == {"vh_any": ["Mapping/m.default"]}


def test_hostname_glob_or_selector_and_both_when_both_are_set() -> None:
    out = served(
        [
            doc("Host", "wild", hostname="*.example.com"),
            doc("Host", "sel", hostname="sel.test", mappingSelector={"matchLabels": {"a": "1"}}),
            doc("Mapping", "exact", prefix="/e/", service="e", hostname="x.example.com"),
            doc("Mapping", "star", prefix="/s/", service="s", hostname="*"),
            doc("Mapping", "none", prefix="/n/", service="n"),
            doc("Mapping", "labelled", {"a": "1"}, prefix="/l/", service="l"),
            doc("Mapping", "both", {"a": "1"}, prefix="/b/", service="b", hostname="other.test"),
        ]
    )
    assert sorted(out["host_wild.default"]) == ["Mapping/exact.default", "Mapping/star.default"]
    # selected by label: the labelled one; `star` has no label; `both` has the label but
    # its hostname does not match (both must hold)
    assert out["host_sel.default"] == ["Mapping/labelled.default"]


def test_narrower_mapping_hostname_becomes_an_authority_match() -> None:
    result = compile_config(
        [
            doc("Host", "wild", hostname="*.example.com"),
            doc("Mapping", "exact", prefix="/e/", service="e", hostname="x.example.com"),
        ]
    )
    (route,) = result.gateway.route_configs[0].virtual_hosts[0].routes
    (header,) = route.match.headers
    assert header.name == ":authority" and header.regex
    assert header.value == r"^x\.example\.com(:[0-9]+)?$"


def test_insecure_default_is_route_without_tls() -> None:
    out = served(
        [
            doc("Host", "plain", hostname="p.test"),
            doc("Mapping", "m", prefix="/m/", service="m", hostname="p.test"),
        ]
    )
    assert out == {"host_plain.default": ["Mapping/m.default"]}


def test_hostname_rules() -> None:
    assert hostname_error("*") is None
    assert hostname_error("*.example.com") is None
    assert hostname_error("example.*") is None
    assert hostname_error("a.*.com") is not None
    assert hostname_error("a*.example.com") is not None
    assert globs_overlap("*.example.com", "x.example.com")
    assert not globs_overlap("*.example.com", "x.example.org")


def test_missing_secret_is_an_error_on_the_host_and_others_serve() -> None:
    result = compile_config(
        [
            doc("Host", "broken", hostname="b.test", tlsSecret={"name": "gone"}),
            doc("Host", "fine", hostname="f.test"),
            doc("Mapping", "m", prefix="/m/", service="m", hostname="*"),
        ]
    )
    (error,) = result.errors
    assert (error.resource, error.field) == ("Host/broken.default", "spec.tlsSecret")
    assert "Secret default/gone does not exist" in error.message
    names = [vh.name for vh in result.gateway.route_configs[0].virtual_hosts]
    assert names == ["host_fine.default"]
    assert [lst.name for lst in result.gateway.listeners] == ["http-8080"]  # no HTTPS


def test_tcpmapping_on_the_https_port_is_an_error_once_tls_is_served() -> None:
    leaf = TestCA().issue("a.test")
    secret = RawObject(
        doc={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "a", "namespace": "default"},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": leaf.cert_pem.decode(), "tls.key": leaf.key_pem.decode()},
        },
        source=Source("secret.yaml", 1),
    )
    tcp = doc("TCPMapping", "db", port=8443, service="db:5432")
    alone = compile_config([tcp])
    assert alone.errors == () and [lst.port for lst in alone.gateway.listeners] == [8080, 8443]
    with_tls = compile_config(
        [secret, doc("Host", "a", hostname="a.test", tlsSecret={"name": "a"}), tcp]
    )
    (error,) = with_tls.errors
    assert (error.resource, error.field) == ("TCPMapping/db.default", "spec.port")
    assert "HTTPS listener's port" in error.message
    assert [lst.name for lst in with_tls.gateway.listeners] == ["http-8080", "https-8443"]
