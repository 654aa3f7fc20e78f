"""TLSContext settings on a real Envoy: two Hosts share a certificate, one is stricter."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import yaml

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.tls import TlsClient, host, tls_secret

pytestmark = pytest.mark.e2e

STRICT = yaml.safe_dump(
    {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "TLSContext",
        "metadata": {"name": "strict", "namespace": "default"},
        "spec": {
            "hosts": ["strict.example.com"],
            "secret": "shared-tls",
            "min_tls_version": "v1.3",
            "alpn_protocols": "http/1.1",
        },
    }
)


@pytest.fixture(scope="module")
def ca() -> TestCA:
    """The CA of the shared certificate."""
    return TestCA()


@pytest.fixture(scope="module")
def gw(ca: TestCA) -> Iterator[RunningGateway]:
    """Hosts `open` (defaults) and `strict` (TLSContext by hostname) on one certificate."""
    leaf = ca.issue("open.example.com", "strict.example.com")
    with EchoUpstream("web") as web:
        files = {
            "secret.yaml": tls_secret("shared-tls", leaf),
            "hosts.yaml": host("open", "open.example.com", "shared-tls")
            + host("strict", "strict.example.com", "shared-tls")
            + "---\n"
            + STRICT,
            "mappings.yaml": mapping("web", web.service, "/", hostname="*"),
        }
        with RunningGateway(files) as running:
            poll(lambda: running.get("/", headers={"host": "open.example.com"}).status_code)
            yield running


def _tls12_only(ca: TestCA) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def test_min_version_refuses_old_clients_on_that_host_only(gw: RunningGateway, ca: TestCA) -> None:
    old = TlsClient(gw.https_port, "open.example.com", ca, context=_tls12_only(ca))
    assert old.sock.version() == "TLSv1.2"
    assert old.get("/x")[0] == 200
    old.close()
    with pytest.raises(ssl.SSLError):
        TlsClient(gw.https_port, "strict.example.com", ca, context=_tls12_only(ca))
    new = TlsClient(gw.https_port, "strict.example.com", ca)
    assert new.sock.version() == "TLSv1.3"
    assert new.get("/x")[0] == 200
    new.close()


def test_alpn_from_the_tls_context(gw: RunningGateway, ca: TestCA) -> None:
    both = ["h2", "http/1.1"]
    strict = TlsClient(gw.https_port, "strict.example.com", ca, alpn=both)
    assert strict.sock.selected_alpn_protocol() == "http/1.1"
    strict.close()
    default = TlsClient(gw.https_port, "open.example.com", ca, alpn=both)
    assert default.sock.selected_alpn_protocol() == "h2"
    default.close()
