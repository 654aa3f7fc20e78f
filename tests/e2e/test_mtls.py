"""Client certificates (mTLS) and TLS to upstreams on a real Envoy, real TLS servers.

Downstream: `required.example.com` refuses a handshake without a client certificate,
`optional.example.com` routes without one; with one, the upstream sees
`x-forwarded-client-cert`. Upstream: a Mapping's `tls` names a TLSContext with a client
certificate and the CA of an HTTPS upstream that itself requires a client certificate
(200); another names the wrong CA (503, `ssl.fail_verify_error` in the diagnostics).
A TCPMapping `tls: true` originates TLS to a TLS echo server.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.tcp_echo import TcpEcho
from tests.e2e.tls import TlsClient, ca_secret, host, tls_context, tls_secret, with_identity

pytestmark = pytest.mark.e2e

MODULE = yaml.safe_dump(
    {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Module",
        "metadata": {"name": "ambassador", "namespace": "default"},
        "spec": {
            "config": {
                "forward_client_cert_details": "SANITIZE_SET",
                "set_current_client_cert_details": {"subject": True, "dns": True},
            }
        },
    }
)


class Pki:
    """Every CA and certificate of the test."""

    def __init__(self, directory: Path) -> None:
        self.server_ca = TestCA("gateway CA")
        self.client_ca = TestCA("client CA")
        self.upstream_ca = TestCA("upstream CA")
        self.wrong_ca = TestCA("some other CA")
        self.server = self.server_ca.issue("required.example.com", "optional.example.com")
        self.client = self.client_ca.issue("alice.example.com")
        self.gateway_client = self.client_ca.issue("gateway.example.com")
        self.upstream = self.upstream_ca.issue("upstream.example.com")
        self.directory = directory

    def upstream_context(self) -> ssl.SSLContext:
        """The HTTPS upstreams' side: their certificate, client certificates required."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with_identity(context, self.upstream, self.directory)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=self.client_ca.cert_pem.decode())
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """CAs and certificates, written under a temporary directory."""
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tcp_port() -> int:
    """The TCPMapping's port."""
    return free_port()


@pytest.fixture(scope="module")
def gw(pki: Pki, tcp_port: int) -> Iterator[RunningGateway]:
    """Hosts with required and optional client certificates; HTTPS and TLS upstreams."""
    plain_upstream = pki.upstream_context()
    plain_upstream.verify_mode = ssl.CERT_NONE  # the TLS echo server asks for nothing
    with (
        EchoUpstream("web") as web,
        EchoUpstream("secure", tls=pki.upstream_context()) as secure,
        TcpEcho(b"t:", tls=plain_upstream) as echo,
    ):
        files = {
            "secrets.yaml": tls_secret("server-tls", pki.server)
            + ca_secret("client-ca", pki.client_ca.cert_pem)
            + "---\n"
            + tls_secret("gateway-client", pki.gateway_client)
            + ca_secret("upstream-ca", pki.upstream_ca.cert_pem)
            + ca_secret("wrong-ca", pki.wrong_ca.cert_pem),
            "hosts.yaml": host("required", "required.example.com", "server-tls")
            + host("optional", "optional.example.com", "server-tls")
            + tls_context(
                "required",
                hosts=["required.example.com"],
                secret="server-tls",
                ca_secret="client-ca",
                cert_required=True,
            )
            + tls_context("optional", hosts=["optional.example.com"], ca_secret="client-ca"),
            "upstream.yaml": tls_context(
                "to-secure", secret="gateway-client", ca_secret="upstream-ca", sni="upstream"
            )
            + tls_context("wrong", secret="gateway-client", ca_secret="wrong-ca"),
            "module.yaml": MODULE,
            "mappings.yaml": mapping("web", web.service, "/", hostname="*")
            + mapping("secure", secure.service, "/secure/", hostname="*", tls="to-secure")
            + mapping("wrong", secure.service, "/wrong/", hostname="*", tls="wrong")
            + "---\n"
            + yaml.safe_dump(
                {
                    "apiVersion": "getambassador.io/v3alpha1",
                    "kind": "TCPMapping",
                    "metadata": {"name": "tls-echo", "namespace": "default"},
                    "spec": {"port": tcp_port, "service": echo.service, "tls": True},
                }
            ),
        }
        with RunningGateway(files) as running:
            running.wait_ready()
            yield running


def _client(pki: Pki, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=pki.server_ca.cert_pem.decode())
    return with_identity(context, pki.client, pki.directory) if with_cert else context


def _connect(gw: RunningGateway, pki: Pki, sni: str, with_cert: bool) -> TlsClient:
    return poll(
        lambda: TlsClient(gw.https_port, sni, pki.server_ca, context=_client(pki, with_cert))
    )


def test_required_client_certificate_refuses_a_client_without_one(
    gw: RunningGateway, pki: Pki
) -> None:
    poll(lambda: _connect(gw, pki, "required.example.com", True).get("/x")[0] == 200 or None)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        # TLS 1.3: the refusal arrives as an alert on the first read
        client = TlsClient(
            gw.https_port, "required.example.com", pki.server_ca, context=_client(pki, False)
        )
        client.get("/x")


def test_a_client_certificate_reaches_the_upstream_as_xfcc(gw: RunningGateway, pki: Pki) -> None:
    client = _connect(gw, pki, "required.example.com", True)
    status, body = client.get("/x")
    client.close()
    assert status == 200
    xfcc = body["headers"]["x-forwarded-client-cert"]
    assert 'Subject="CN=alice.example.com"' in xfcc
    assert "DNS=alice.example.com" in xfcc


def test_optional_client_certificate_routes_without_one(gw: RunningGateway, pki: Pki) -> None:
    client = _connect(gw, pki, "optional.example.com", False)
    status, body = client.get("/x")
    client.close()
    assert status == 200
    assert "x-forwarded-client-cert" not in body["headers"]
    client = _connect(gw, pki, "optional.example.com", True)
    status, body = client.get("/x")
    client.close()
    assert status == 200 and "alice.example.com" in body["headers"]["x-forwarded-client-cert"]


def test_upstream_tls_with_client_certificate_and_ca_check(gw: RunningGateway, pki: Pki) -> None:
    def secure() -> int | None:
        client = _connect(gw, pki, "optional.example.com", False)
        status, body = client.get("/secure/a")
        client.close()
        return status if status == 200 and body.get("upstream") == "secure" else None

    assert poll(secure) == 200


def test_upstream_with_the_wrong_ca_is_503_with_the_reason_in_diag(
    gw: RunningGateway, pki: Pki
) -> None:
    client = _connect(gw, pki, "optional.example.com", False)
    status, _ = client.get("/wrong/a")
    client.close()
    assert status == 503
    stats = gw.admin("/stats?filter=ssl.fail_verify_error").text
    failing = [line for line in stats.splitlines() if line.startswith("cluster.")]
    assert any(not line.endswith(": 0") for line in failing), stats

    def in_diag() -> dict[str, int] | None:
        data = gw.diag("/ambassador/v0/diag/clusters?json=true").json()
        for cluster in data["clusters"]:
            envoy = cluster.get("envoy") or {}
            if "Mapping/wrong.default" in [m["key"] for m in cluster["mappings"]]:
                stats = envoy.get("stats", {})
                return stats if stats.get("ssl.fail_verify_error", 0) > 0 else None
        return None

    assert poll(in_diag)["ssl.fail_verify_error"] >= 1


def test_tcpmapping_originates_tls_to_a_tls_echo_server(gw: RunningGateway, tcp_port: int) -> None:
    def exchange() -> bytes | None:
        try:
            with socket.create_connection(("127.0.0.1", tcp_port), timeout=5) as sock:
                sock.sendall(b"hello\n")
                data = b""
                while len(data) < len(b"t:hello\n"):
                    chunk = sock.recv(100)
                    if not chunk:
                        break
                    data += chunk
                return data or None
        except OSError:
            return None

    assert poll(exchange) == b"t:hello\n"


def test_the_legacy_tls_module_terminates_and_requires_client_certificates(pki: Pki) -> None:
    module = {
        "apiVersion": "getambassador.io/v2",
        "kind": "Module",
        "metadata": {"name": "tls", "namespace": "default"},
        "spec": {
            "config": {
                "server": {"enabled": True, "secret": "server-tls"},
                "client": {"enabled": True, "secret": "client-ca", "cert_required": True},
            }
        },
    }
    with EchoUpstream("web") as web:
        files = {
            "secrets.yaml": tls_secret("server-tls", pki.server)
            + ca_secret("client-ca", pki.client_ca.cert_pem),
            "module.yaml": yaml.safe_dump(module),
            "mappings.yaml": mapping("web", web.service, "/", hostname="*"),
        }
        with RunningGateway(files) as gw:
            gw.wait_ready()
            client = _connect(gw, pki, "required.example.com", True)
            assert client.get("/x")[0] == 200
            client.close()
            with pytest.raises((ssl.SSLError, ConnectionError)):
                bare = TlsClient(
                    gw.https_port,
                    "required.example.com",
                    pki.server_ca,
                    context=_client(pki, False),
                )
                bare.get("/x")
