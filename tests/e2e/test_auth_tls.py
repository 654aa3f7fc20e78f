"""AuthService with TLS: the connection to the auth service uses a TLSContext (its CA
checks the auth server's certificate; with a CA that does not match, the checks fail
and requests are refused, never let through); and a Host's HTTPS redirect and the ACME
path never call the auth service while the HTTPS routes do."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certs import TestCA
from tests.e2e.auth_servers import HttpAuthServer
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.test_auth_http import auth_service
from tests.e2e.tls import TlsClient, ca_secret, host, tls_context, tls_secret, with_identity


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpAuthServer, TestCA]]:
    ca = TestCA("auth CA")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with_identity(context, ca.issue("auth.example.com"), Path(tmp_path_factory.mktemp("auth")))
    with HttpAuthServer(tls=context) as server:
        yield server, ca


def test_auth_over_tls_with_a_tls_context(auth: tuple[HttpAuthServer, TestCA]) -> None:
    server, ca = auth
    with EchoUpstream("app") as app:
        files = {
            "secrets.yaml": ca_secret("auth-ca", ca.cert_pem)
            + ca_secret("other-ca", TestCA("other CA").cert_pem),
            "contexts.yaml": tls_context("to-auth", ca_secret="auth-ca", sni="auth.example.com")
            + tls_context("wrong-ca", ca_secret="other-ca"),
            "auth.yaml": auth_service(
                f"127.0.0.1:{server.port}", tls="to-auth", allowed_request_headers=["x-auth"]
            ),
            "mappings.yaml": mapping("app", app.service, "/app/"),
        }
        with RunningGateway(files) as gw:
            r = gw.get("/app/x", headers={"x-auth": "allow"})
            assert r.status_code == 200, r.text
            assert server.count == 1
            assert gw.get("/app/x", headers={"x-auth": "deny"}).status_code == 401
            gw.write("auth.yaml", auth_service(f"127.0.0.1:{server.port}", tls="wrong-ca"))
            gw.wait_status("/app/x", 403, headers={"x-auth": "allow"})
            before = server.count
            for _ in range(3):
                assert gw.get("/app/x", headers={"x-auth": "allow"}).status_code == 403
            assert server.count == before  # the handshake fails before any check is made


def test_https_redirect_and_acme_never_call_the_auth_service(
    auth: tuple[HttpAuthServer, TestCA],
) -> None:
    server, ca = auth
    leaf = ca.issue("a.example.com")
    with EchoUpstream("app") as app:
        files = {
            "secrets.yaml": tls_secret("a-tls", leaf) + ca_secret("auth-ca", ca.cert_pem),
            "hosts.yaml": host("a", "a.example.com", "a-tls", action="Redirect"),
            "contexts.yaml": tls_context("to-auth", ca_secret="auth-ca", sni="auth.example.com"),
            "auth.yaml": auth_service(
                f"127.0.0.1:{server.port}", tls="to-auth", allowed_request_headers=["x-auth"]
            ),
            "mappings.yaml": mapping("app", app.service, "/app/", hostname="a.example.com")
            + mapping(
                "acme", app.service, "/.well-known/acme-challenge/", hostname="a.example.com"
            ),
        }
        with RunningGateway(files) as gw:
            before = server.count
            plain = {"host": "a.example.com", "x-auth": "deny"}
            for _ in range(3):
                r = gw.get("/app/x", headers=plain)
                assert r.status_code == 301
                assert r.headers["location"].startswith("https://a.example.com")
                acme = gw.get("/.well-known/acme-challenge/token", headers=plain)
                assert acme.status_code == 200
            assert server.count == before
            client = TlsClient(gw.https_port, "a.example.com", ca)
            try:
                status, _ = client.get("/app/x")  # over HTTPS the route is checked
            finally:
                client.close()
            assert status == 200
            assert server.count == before + 1
