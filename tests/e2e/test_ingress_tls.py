"""Ingress `spec.tls` through a real Envoy (folder mode): SNI chains from the Ingress's
Secret, cleartext routing unchanged, and a bad entry reported on its Ingress alone."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, poll
from tests.e2e.tls import TlsClient, der_of

pytestmark = pytest.mark.e2e

NAMESPACE = "localhost"
"""Backends are reached by DNS (`echo.localhost:PORT`), as in test_module_fields."""


def secret(name: str, crt: bytes, key: bytes) -> dict[str, Any]:
    data = {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": NAMESPACE}, "data": data}  # fmt: skip


def ingress(name: str, port: int, tls: list[dict[str, Any]], hosts: list[str]) -> dict[str, Any]:
    def rule(host: str) -> dict[str, Any]:
        return {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "echo", "port": {"number": port}}}}]}}  # fmt: skip

    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": NAMESPACE,
                     "annotations": {"kubernetes.io/ingress.class": "legation"}},
        "spec": {"tls": tls, "rules": [rule(h) for h in hosts]},
    }  # fmt: skip


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="module")
def gw(ca: TestCA) -> Iterator[RunningGateway]:
    good = ca.issue("secure.example.com")
    other = ca.issue("other.example.com")
    stranger = ca.issue("stranger.example.com")
    with EchoUpstream("up") as up:
        docs = [
            secret("web-tls", good.cert_pem, good.key_pem),
            secret("bad-pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n", good.key_pem),
            secret("mismatch", other.cert_pem, stranger.key_pem),
            ingress("web", up.port, [
                {"hosts": ["secure.example.com"], "secretName": "web-tls"},
                {"hosts": ["missing.example.com"], "secretName": "nowhere"},
            ], ["secure.example.com", "plain.example.com", "missing.example.com"]),
            ingress("broken", up.port, [
                {"hosts": ["bad.example.com"], "secretName": "bad-pem"},
                {"hosts": ["other.example.com"], "secretName": "mismatch"},
            ], ["bad.example.com", "other.example.com"]),
        ]  # fmt: skip
        files = {"config.yaml": yaml.safe_dump_all(docs)}
        with RunningGateway(files) as gateway:
            poll(lambda: gateway.get("/", headers={"host": "plain.example.com"}).status_code == 200)
            gateway.leaf = good  # type: ignore[attr-defined]
            yield gateway


def test_tls_host_gets_the_ingress_secret_and_its_routes(gw: RunningGateway, ca: TestCA) -> None:
    def connect() -> TlsClient | None:
        try:
            return TlsClient(gw.https_port, "secure.example.com", ca)
        except OSError:
            return None  # the HTTPS listener is not up yet

    client = poll(connect)
    try:
        assert client.sans() == ["secure.example.com"]  # verified against the CA, too
        assert client.certificate() == der_of(gw.leaf)  # type: ignore[attr-defined]
        status, body = client.get("/x")
        assert (status, body.get("upstream")) == (200, "up")
        assert body["headers"]["x-forwarded-proto"] == "https"
        assert body["headers"]["host"].split(":")[0] == "secure.example.com"
    finally:
        client.close()


def test_cleartext_is_routed_as_before(gw: RunningGateway) -> None:
    for name in ("secure.example.com", "plain.example.com", "missing.example.com"):
        r = gw.get("/y", headers={"host": name})
        assert (r.status_code, r.json()["upstream"]) == (200, "up"), name  # no redirect
    assert gw.get("/y", headers={"host": "unknown.example.com"}).status_code == 404


def test_bad_entries_are_errors_on_their_ingress_naming_the_field(gw: RunningGateway) -> None:
    errors = {
        (e["resource"], e.get("field")): e["message"]
        for e in gw.overview()["errors"]
        if str(e["resource"]).startswith("Ingress/")
    }
    missing = errors[("Ingress/web.localhost", "spec.tls.1.secretName")]
    assert "Secret localhost/nowhere does not exist" in missing
    bad = errors[("Ingress/broken.localhost", "spec.tls.0.secretName")]
    assert "localhost/bad-pem" in bad
    mismatch = errors[("Ingress/broken.localhost", "spec.tls.1.secretName")]
    assert "localhost/mismatch" in mismatch and "key" in mismatch.lower()
    # none of them is served over TLS: no chain for their names (the good one is)
    chains = gw.admin("/config_dump?resource=dynamic_listeners").text
    assert "secure.example.com" in chains
    for name in ("missing.example.com", "bad.example.com", "other.example.com"):
        assert name not in chains, name
