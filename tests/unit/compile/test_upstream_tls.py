"""Upstream TLS and mTLS pieces: CA checks, Secret references, cluster identity."""

from __future__ import annotations

import pytest

from legation.compile.certificates import CertificateError, ca_bundle_secret
from legation.compile.compiler import compile_config
from legation.compile.tls_contexts import secret_ref
from legation.diag.upstreams import parse_stats
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from tests.certs import TestCA


def test_a_ca_bundle_must_hold_ca_certificates() -> None:
    ca = TestCA()
    assert ca_bundle_secret("n/ca", "Secret/ca.n", ca.cert_pem).kind.value == "ca_bundle"
    with pytest.raises(CertificateError, match="not a CA certificate"):
        ca_bundle_secret("n/ca", "Secret/ca.n", ca.issue("leaf.example.com").cert_pem)


def test_secret_namespacing() -> None:
    assert secret_ref("ca.other", "default", None) == ("other", "ca")
    assert secret_ref("ca.other", "default", False) == ("default", "ca.other")
    assert secret_ref("ca", "default", True) == ("default", "ca")


def _mapping(name: str, tls: object) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"prefix": f"/{name}/", "service": "up:8443", "tls": tls},
    }
    return RawObject(doc=doc, source=Source("in.yaml", 1))


def _context(name: str, sni: str) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "TLSContext",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"sni": sni},
    }
    return RawObject(doc=doc, source=Source("in.yaml", 1))


def test_different_tls_settings_make_different_clusters() -> None:
    objects = [
        _mapping("a", "ctx-a"),
        _mapping("b", "ctx-b"),
        _mapping("c", True),
        _context("ctx-a", "a.internal"),
        _context("ctx-b", "b.internal"),
    ]
    result = compile_config(objects)
    assert not result.errors
    snis = {c.name: c.upstream_tls.sni if c.upstream_tls else None for c in result.gateway.clusters}
    assert len(snis) == 3
    assert sorted(s or "" for s in snis.values()) == ["", "a.internal", "b.internal"]
    assert all(c.tls and c.port == 8443 for c in result.gateway.clusters)


def test_ssl_stats_are_read_per_cluster() -> None:
    text = "cluster.c_1.ssl.fail_verify_error: 3\ncluster.c_1.upstream_rq_total: 1\n"
    assert parse_stats(text) == {"c_1": {"ssl.fail_verify_error": 3, "upstream_rq_total": 1}}
