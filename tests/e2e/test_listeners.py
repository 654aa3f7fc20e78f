"""Listener resources through a real Envoy: the Emissary 3.x setup (8080 HTTP + 8443
HTTPS, XFP, Hosts from ALL), a Listener whose hostBinding selector takes only some Hosts,
and `l7Depth` trusting the X-Forwarded-Proto of a proxy in front.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.certs import TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.tls import TlsClient, listener, tls_secret

pytestmark = pytest.mark.e2e


def labelled_host(
    name: str, hostname: str, secret: str, labels: dict[str, str], **spec: Any
) -> str:
    """A v3alpha1 Host manifest with labels."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Host",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {"hostname": hostname, "tlsSecret": {"name": secret}, **spec},
    }
    return "---\n" + yaml.safe_dump(doc)


class Ports:
    """The extra Listener ports of the setup."""

    def __init__(self) -> None:
        self.internal, self.behind_lb = free_port(), free_port()


@pytest.fixture(scope="module")
def ca() -> TestCA:
    """The CA every test certificate is signed by."""
    return TestCA()


@pytest.fixture(scope="module")
def setup(ca: TestCA) -> Iterator[tuple[RunningGateway, Ports]]:
    """Hosts a (Redirect, public) and b (Route, labelled internal), four Listeners."""
    ports = Ports()
    with EchoUpstream("up-a") as up_a, EchoUpstream("up-b") as up_b:
        gw = RunningGateway()
        files = {
            "secrets.yaml": tls_secret("a-tls", ca.issue("a.example.com"))
            + "---\n"
            + tls_secret("b-tls", ca.issue("b.example.com")),
            "hosts.yaml": labelled_host("a", "a.example.com", "a-tls", {"exposure": "public"})
            + labelled_host(
                "b",
                "b.example.com",
                "b-tls",
                {"exposure": "internal"},
                requestPolicy={"insecure": {"action": "Route"}},
            ),
            "listeners.yaml": listener("http", gw.http_port, "HTTP", "XFP")
            + listener("https", gw.https_port, "HTTPS", "XFP")
            + listener(
                "internal",
                ports.internal,
                "HTTPS",
                "SECURE",
                hostBinding={"selector": {"matchLabels": {"exposure": "internal"}}},
            )
            + listener("behind-lb", ports.behind_lb, "HTTP", "XFP", l7Depth=1),
            "mappings.yaml": mapping("a", up_a.service, "/a/", hostname="a.example.com")
            + mapping("b", up_b.service, "/b/", hostname="b.example.com"),
        }
        for name, text in files.items():
            gw.write(name, text)
        with gw:
            poll(lambda: gw.get("/b/", headers={"host": "b.example.com"}).status_code == 200)
            yield gw, ports


def test_emissary_setup_redirects_cleartext_and_serves_tls(
    setup: tuple[RunningGateway, Ports], ca: TestCA
) -> None:
    gw = setup[0]
    # 8080 (XFP): the Redirect Host answers 301, even when the client claims https
    # (l7Depth 0: Envoy writes X-Forwarded-Proto from the connection)
    for headers in (
        {"host": "a.example.com"},
        {"host": "a.example.com", "x-forwarded-proto": "https"},
    ):
        redirect = gw.get("/a/x", headers=headers)
        assert redirect.status_code == 301, headers
        assert redirect.headers["location"] == "https://a.example.com/a/x"
    routed = gw.get("/b/x", headers={"host": "b.example.com"})  # Route Host
    assert (routed.status_code, routed.json()["headers"]["x-forwarded-proto"]) == (200, "http")
    # 8443 (HTTPS, XFP): TLS requests are secure
    for sni, path, upstream in (
        ("a.example.com", "/a/x", "up-a"),
        ("b.example.com", "/b/x", "up-b"),
    ):
        client = TlsClient(gw.https_port, sni, ca)
        try:
            assert sni in client.sans()
            status, body = client.get(path)
            assert (status, body.get("upstream")) == (200, upstream), sni
            assert body["headers"]["x-forwarded-proto"] == "https"
        finally:
            client.close()
    # ...and HTTPS serves cleartext on the same port, with the insecure action
    plain = httpx.get(f"http://127.0.0.1:{gw.https_port}/a/x", headers={"host": "a.example.com"})
    assert plain.status_code == 301
    assert gw.diag("/ambassador/v0/check_ready").status_code == 200


def _handshake_fails(port: int, sni: str, ca: TestCA) -> bool:
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=sni),
        ):
            return False
    except (ssl.SSLError, ConnectionError):
        return True


def test_host_selector_takes_only_the_hosts_it_selects(
    setup: tuple[RunningGateway, Ports], ca: TestCA
) -> None:
    ports = setup[1]
    client = TlsClient(ports.internal, "b.example.com", ca)
    try:
        status, body = client.get("/b/x")
        assert (status, body.get("upstream")) == (200, "up-b")
    finally:
        client.close()
    assert _handshake_fails(ports.internal, "a.example.com", ca)  # Host a is not selected
    url = f"http://127.0.0.1:{ports.internal}"
    # SECURE: cleartext is routed as secure; Host a has no virtual host here
    assert httpx.get(f"{url}/b/x", headers={"host": "b.example.com"}).status_code == 200
    assert httpx.get(f"{url}/a/x", headers={"host": "a.example.com"}).status_code == 404


def test_l7_depth_trusts_the_proxy_in_front(setup: tuple[RunningGateway, Ports]) -> None:
    ports = setup[1]
    url = f"http://127.0.0.1:{ports.behind_lb}/a/x"
    from_lb = httpx.get(url, headers={"host": "a.example.com", "x-forwarded-proto": "https"})
    assert (from_lb.status_code, from_lb.json()["upstream"]) == (200, "up-a")
    cleartext = httpx.get(url, headers={"host": "a.example.com", "x-forwarded-proto": "http"})
    assert cleartext.status_code == 301


def test_listener_stats_prefixes(setup: tuple[RunningGateway, Ports]) -> None:
    stats = setup[0].admin("/stats?filter=^http\\.ingress_https?\\.downstream_rq_total").text
    names = {line.partition(":")[0] for line in stats.splitlines()}
    assert {
        "http.ingress_http.downstream_rq_total",
        "http.ingress_https.downstream_rq_total",
    } <= names
