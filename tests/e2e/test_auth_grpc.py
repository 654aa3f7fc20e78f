"""AuthService over gRPC (envoy.service.auth.v3) through a real Envoy, against a real
grpcio Authorization server: allow with headers added, deny with a custom status and
body, the Mapping's auth_context_extensions in the check request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.auth_servers import GrpcAuthServer
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.test_auth_http import auth_service


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[GrpcAuthServer, EchoUpstream]]:
    with GrpcAuthServer() as auth, EchoUpstream("app") as app:
        yield auth, app


@pytest.fixture(scope="module")
def gw(servers: tuple[GrpcAuthServer, EchoUpstream]) -> Iterator[RunningGateway]:
    auth, app = servers
    files = {
        "auth.yaml": auth_service(
            f"127.0.0.1:{auth.port}", proto="grpc", protocol_version="v3", timeout_ms=500
        ),
        "mappings.yaml": mapping(
            "app", app.service, "/app/", auth_context_extensions={"tenant": "blue"}
        )
        + mapping("plain", app.service, "/plain/")
        + mapping("public", app.service, "/public/", bypass_auth=True),
    }
    with RunningGateway(files) as gateway:
        yield gateway


def test_allow_adds_headers_and_sends_context_extensions(
    gw: RunningGateway, servers: tuple[GrpcAuthServer, EchoUpstream]
) -> None:
    auth, _ = servers
    r = gw.get("/app/x", headers={"x-auth": "allow"})
    assert r.status_code == 200, r.text
    assert r.json()["headers"]["x-user"] == "grpc-bob"
    headers, extensions = auth.checks[-1]
    assert headers["x-auth"] == "allow" and headers[":path"] == "/app/x"
    assert extensions == {"tenant": "blue"}
    gw.get("/plain/x")
    assert auth.checks[-1][1] == {}  # only the Mapping that sets them


def test_deny_with_custom_status_and_body(
    gw: RunningGateway, servers: tuple[GrpcAuthServer, EchoUpstream]
) -> None:
    _, app = servers
    before = len(app.requests)
    counted = gw.overview()["auth"]["health"]["ext_authz"]["denied"]
    r = gw.get("/app/x", headers={"x-auth": "deny"})
    assert r.status_code == 402
    assert r.text == "pay first"
    assert r.headers["x-deny-reason"] == "test"
    assert len(app.requests) == before
    health = gw.overview()["auth"]["health"]  # the overview counts gRPC checks too
    assert health["ext_authz"]["denied"] == counted + 1 and health["colour"] == "green"


def test_timeout_fails_closed_and_bypass_is_not_checked(
    gw: RunningGateway, servers: tuple[GrpcAuthServer, EchoUpstream]
) -> None:
    auth, _ = servers
    assert gw.get("/app/x", headers={"x-auth": "slow"}).status_code == 403
    before = len(auth.checks)
    assert gw.get("/public/x", headers={"x-auth": "deny"}).status_code == 200
    assert len(auth.checks) == before
