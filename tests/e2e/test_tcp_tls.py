"""TCPMappings and TLS on a real Envoy, with real TLS clients and TCP echo upstreams.

On the HTTPS port, next to an HTTPS Host: TCPMappings with `host` terminate TLS for
their SNI with a TLSContext's certificate or a Host's, and proxy the cleartext bytes
to a TCP echo server. TLS origination to a TLS echo server verifies its certificate
against the TLSContext's CA (the wrong CA: no connection, `ssl.fail_verify_error`).
TCP and TLS Listener resources carry the TCPMappings of their ports.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.tcp_echo import TcpEcho, exchange, tcp_mapping
from tests.e2e.tls import (
    TlsClient,
    ca_secret,
    host,
    listener,
    tls_context,
    tls_secret,
    with_identity,
)

pytestmark = pytest.mark.e2e


class Pki:
    """The gateway's CA and certificates, and the TLS upstream's."""

    def __init__(self, directory: Path) -> None:
        self.ca = TestCA("gateway CA")
        self.upstream_ca = TestCA("upstream CA")
        self.wrong_ca = TestCA("some other CA")
        self.directory = directory

    def secrets(self) -> str:
        """Secrets for web, db and shell, and the two CA bundles."""
        return (
            "---\n".join(
                tls_secret(f"{name}-tls", self.ca.issue(f"{name}.example.com"))
                for name in ("web", "db", "shell")
            )
            + ca_secret("upstream-ca", self.upstream_ca.cert_pem)
            + ca_secret("wrong-ca", self.wrong_ca.cert_pem)
        )

    def upstream_context(self) -> ssl.SSLContext:
        """The TLS echo server's side: a certificate for upstream.example.com."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        return with_identity(
            context, self.upstream_ca.issue("upstream.example.com"), self.directory
        )


class Echoes:
    """The upstreams: TCP echoes (plain and TLS) and an HTTP echo."""

    def __init__(self, stack: ExitStack, pki: Pki) -> None:
        self.db = stack.enter_context(TcpEcho(b"d:"))
        self.shell = stack.enter_context(TcpEcho(b"s:"))
        self.secure = stack.enter_context(TcpEcho(b"t:", tls=pki.upstream_context()))
        self.web = stack.enter_context(EchoUpstream("web"))
        self.origin_port, self.wrong_port = free_port(), free_port()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """CAs and certificates, written under a temporary directory."""
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def setup(pki: Pki) -> Iterator[tuple[RunningGateway, Echoes]]:
    """No Listener resources: the HTTPS port has Host web, TCPMappings db and shell."""
    with ExitStack() as stack:
        up = Echoes(stack, pki)
        gw = RunningGateway()
        https = gw.https_port
        files = {
            "secrets.yaml": pki.secrets(),
            "hosts.yaml": host("web", "web.example.com", "web-tls")
            + host("shell", "shell.example.com", "shell-tls")
            + mapping("web", up.web.service, "/", hostname="*"),
            "tcp.yaml": tls_context("db", hosts=["db.example.com"], secret="db-tls")
            + tcp_mapping("db", https, up.db.service, host="db.example.com")
            + tcp_mapping("shell", https, up.shell.service, host="shell.example.com"),
            "origin.yaml": tls_context(
                "to-upstream", ca_secret="upstream-ca", sni="upstream.example.com"
            )
            + tls_context("wrong", ca_secret="wrong-ca", sni="upstream.example.com")
            + tcp_mapping("origin", up.origin_port, up.secure.service, tls="to-upstream")
            + tcp_mapping("wrong", up.wrong_port, up.secure.service, tls="wrong"),
        }
        for name, text in files.items():
            gw.write(name, text)
        stack.enter_context(gw)
        yield gw, up


def _connect(port: int, sni: str, pki: Pki) -> TlsClient:
    return poll(lambda: TlsClient(port, sni, pki.ca))


def test_sni_tcpmapping_terminates_with_the_tlscontext_certificate(
    setup: tuple[RunningGateway, Echoes], pki: Pki
) -> None:
    gw, _ = setup
    client = _connect(gw.https_port, "db.example.com", pki)
    assert client.sans() == ["db.example.com"]  # verified against the test CA
    # the echo speaks no TLS: its tag and our bytes coming back prove Envoy terminated
    assert client.exchange(b"select 1;", 11) == b"d:select 1;"
    client.close()


def test_sni_tcpmapping_terminates_with_the_host_certificate(
    setup: tuple[RunningGateway, Echoes], pki: Pki
) -> None:
    gw, _ = setup
    client = _connect(gw.https_port, "shell.example.com", pki)
    assert client.sans() == ["shell.example.com"]
    payload = bytes(range(256)) * 400  # more than one TLS record and one read
    assert client.exchange(payload, 2 + len(payload)) == b"s:" + payload
    client.close()


def test_https_host_is_still_served_on_the_same_port(
    setup: tuple[RunningGateway, Echoes], pki: Pki
) -> None:
    gw, _ = setup
    client = _connect(gw.https_port, "web.example.com", pki)
    assert client.sans() == ["web.example.com"]
    status, body = client.get("/hello")
    client.close()
    assert (status, body.get("upstream")) == (200, "web")


def test_unknown_sni_is_refused(setup: tuple[RunningGateway, Echoes], pki: Pki) -> None:
    gw, _ = setup
    _connect(gw.https_port, "web.example.com", pki).close()  # the listener is up
    with pytest.raises((ssl.SSLError, ConnectionError)):
        TlsClient(gw.https_port, "nobody.example.com", pki.ca)


def test_origination_verifies_the_upstream_against_the_ca(
    setup: tuple[RunningGateway, Echoes],
) -> None:
    _, up = setup

    def echoed() -> bytes | None:
        try:  # no half-close: TLS to the upstream cannot carry one
            return exchange(up.origin_port, b"ping\n", 7) or None
        except OSError:
            return None

    assert poll(echoed) == b"t:ping\n"


def test_origination_with_the_wrong_ca_connects_nothing(
    setup: tuple[RunningGateway, Echoes],
) -> None:
    gw, up = setup

    def failures() -> int | None:
        try:  # closed (or reset) with nothing relayed
            assert exchange(up.wrong_port, b"ping\n") == b""
        except ConnectionResetError:
            pass
        except OSError:
            return None  # not listening yet
        lines = gw.admin("/stats?filter=ssl.fail_verify_error").text.splitlines()
        counts = [int(line.rsplit(":", 1)[1]) for line in lines if line.startswith("cluster.")]
        return sum(counts) or None

    assert poll(failures) >= 1


def test_tcp_and_tls_listeners_carry_their_tcpmappings(pki: Pki) -> None:
    """Listeners: HTTP, TLS (SNI chain terminated + catch-all) and TCP."""
    with ExitStack() as stack:
        db = stack.enter_context(TcpEcho(b"d:"))
        rest = stack.enter_context(TcpEcho(b"r:"))
        plain = stack.enter_context(TcpEcho(b"p:"))
        gw = RunningGateway()
        tls_port, tcp_port = free_port(), free_port()
        gw.write("secrets.yaml", pki.secrets())
        gw.write(
            "listeners.yaml",
            listener("http", gw.http_port, "HTTP", "XFP")
            + listener("tls", tls_port, "TLS", "SECURE")
            + listener("tcp", tcp_port, "TCP", "SECURE", statsPrefix="raw_tcp"),
        )
        gw.write(
            "tcp.yaml",
            tls_context("db", hosts=["db.example.com"], secret="db-tls")
            + tcp_mapping("db", tls_port, db.service, host="db.example.com")
            + tcp_mapping("rest", tls_port, rest.service)
            + tcp_mapping("plain", tcp_port, plain.service),
        )
        stack.enter_context(gw)
        client = _connect(tls_port, "db.example.com", pki)
        assert client.sans() == ["db.example.com"]
        assert client.exchange(b"x", 3) == b"d:x"
        client.close()
        # not TLS: the catch-all chain (Envoy resets a client that half-closes while its
        # TLS inspector still looks at the first bytes, so this one does not)
        assert exchange(tls_port, b"not tls\n", 10) == b"r:not tls\n"
        assert poll(lambda: exchange(tcp_port, b"y") or None) == b"p:y"
        listeners = gw.admin("/listeners?format=json").json()["listener_statuses"]
        assert {f"listener-{tls_port}", f"listener-{tcp_port}"} <= {li["name"] for li in listeners}
        assert not any(li["name"].startswith("tcp-") for li in listeners)
        stats = gw.admin("/stats?filter=^tcp\\.raw_tcp\\.").text
        assert "tcp.raw_tcp.downstream_cx_total: 1" in stats, stats


def test_tcpmapping_without_host_on_the_https_port_is_an_error(
    setup: tuple[RunningGateway, Echoes], pki: Pki
) -> None:
    gw, up = setup
    gw.write("bad.yaml", tcp_mapping("grab-all", gw.https_port, up.db.service))

    def errors() -> list[str] | None:
        found = [e["message"] for e in gw.overview()["errors"]]
        return [m for m in found if "only a TCPMapping with `host`" in m] or None

    assert poll(errors)
    client = _connect(gw.https_port, "db.example.com", pki)  # the others serve on
    assert client.exchange(b"z", 3) == b"d:z"
    client.close()
    gw.remove("bad.yaml")


def test_adding_an_sni_passthrough_keeps_open_https_connections(
    setup: tuple[RunningGateway, Echoes], pki: Pki
) -> None:
    """A TCPMapping added to the HTTPS port without a certificate for its `host` passes
    TLS through (the client sees the upstream's own certificate); the listener update
    is in place: a keep-alive HTTPS connection opened before keeps working."""
    gw, up = setup
    web = _connect(gw.https_port, "web.example.com", pki)
    assert web.get("/before")[0] == 200
    gw.write(
        "passthrough.yaml",
        tcp_mapping("upstream", gw.https_port, up.secure.service, host="upstream.example.com"),
    )

    def through() -> TlsClient | None:
        try:
            return TlsClient(gw.https_port, "upstream.example.com", pki.upstream_ca)
        except (ssl.SSLError, OSError):
            return None

    client = poll(through)
    assert client.sans() == ["upstream.example.com"]  # the upstream's, verified end to end
    assert client.exchange(b"e2e", 5) == b"t:e2e"
    client.close()
    assert web.get("/after")[0] == 200  # the same connection, not drained
    web.close()
    stats = gw.admin("/stats?filter=listener_manager.listener_in_place_updated").text
    assert not stats.strip().endswith(": 0"), stats
    gw.remove("passthrough.yaml")
