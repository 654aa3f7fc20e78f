"""AuthService over HTTP through a real Envoy, against a real HTTP auth server.

One gateway serves the module; the auth server counts its checks, the echo upstream
shows what reached it. The failure-mode tests rewrite the AuthService and wait for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.auth_servers import HttpAuthServer
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, manifest, mapping, poll
from tests.e2e.helpers import free_port


def auth_service(service: str, **spec: Any) -> str:
    """An AuthService as YAML text."""
    return manifest("AuthService", "auth", spec={"auth_service": service, **spec})


def _http_auth(port: int, **extra: Any) -> str:
    return auth_service(
        f"http://127.0.0.1:{port}",
        path_prefix="/extauth",
        timeout_ms=500,
        allowed_request_headers=["x-auth"],
        allowed_authorization_headers=["x-user"],
        include_body={"max_bytes": 100, "allow_partial": False},
        **extra,
    )


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[HttpAuthServer, EchoUpstream]]:
    with HttpAuthServer() as auth, EchoUpstream("app") as app:
        yield auth, app


@pytest.fixture(scope="module")
def gw(servers: tuple[HttpAuthServer, EchoUpstream]) -> Iterator[RunningGateway]:
    auth, app = servers
    mappings = "".join(
        [
            mapping("app", app.service, "/app/"),
            mapping("public", app.service, "/public/", bypass_auth=True),
            mapping("moved", "example.com", "/moved/", host_redirect=True),
            mapping("acme", app.service, "/.well-known/acme-challenge/"),
        ]
    )
    files = {"auth.yaml": _http_auth(auth.port), "mappings.yaml": mappings}
    with RunningGateway(files) as gateway:
        yield gateway


def test_allow_copies_allowed_authorization_headers_upstream(
    gw: RunningGateway, servers: tuple[HttpAuthServer, EchoUpstream]
) -> None:
    auth, _app = servers
    before = auth.count
    r = gw.get("/app/hello?q=1", headers={"x-auth": "allow", "x-other": "secret"})
    assert r.status_code == 200, r.text
    assert auth.count == before + 1
    _method, path, headers, _ = auth.checks[-1]
    assert path == "/extauth/app/hello?q=1"  # path_prefix, then the request's path
    assert headers["x-auth"] == "allow"  # allowed_request_headers
    assert "x-other" not in headers  # not allowed: not sent to the auth service
    seen = r.json()["headers"]
    assert seen["x-user"] == "alice"  # allowed_authorization_headers
    assert "x-not-allowed" not in seen


@pytest.mark.parametrize(
    ("decision", "status", "body"), [("deny", 401, "no entry"), ("forbid", 403, "forbidden here")]
)
def test_denial_reaches_the_client_unchanged(
    gw: RunningGateway,
    servers: tuple[HttpAuthServer, EchoUpstream],
    decision: str,
    status: int,
    body: str,
) -> None:
    _auth, app = servers
    upstream_before = len(app.requests)
    r = gw.get("/app/secret", headers={"x-auth": decision})
    assert r.status_code == status
    assert r.text == body
    if decision == "deny":
        assert r.headers["www-authenticate"] == 'Basic realm="test"'
    assert len(app.requests) == upstream_before  # never reached the upstream


def test_include_body_within_and_over_the_limit(
    gw: RunningGateway, servers: tuple[HttpAuthServer, EchoUpstream]
) -> None:
    auth, _ = servers
    r = gw.request("POST", "/app/form", content=b"a" * 50, headers={"x-auth": "allow"})
    assert r.status_code == 200
    assert auth.checks[-1][3] == b"a" * 50
    before = auth.count
    r = gw.request("POST", "/app/form", content=b"b" * 500, headers={"x-auth": "allow"})
    assert r.status_code == 413
    assert auth.count == before


def test_auth_server_5xx_is_a_failure_of_the_service(gw: RunningGateway) -> None:
    r = gw.get("/app/err", headers={"x-auth": "error"})
    assert r.status_code == 403  # status_on_error, not the auth server's own answer
    assert "auth broke" not in r.text


def test_timeout_fails_closed(gw: RunningGateway) -> None:
    r = gw.get("/app/slow", headers={"x-auth": "slow"})
    assert r.status_code == 403  # status_on_error's default; failure_mode_allow is false


def test_bypass_redirect_and_acme_never_reach_the_auth_server(
    gw: RunningGateway, servers: tuple[HttpAuthServer, EchoUpstream]
) -> None:
    auth, _ = servers
    before = auth.count
    for _ in range(3):
        assert gw.get("/public/x", headers={"x-auth": "deny"}).status_code == 200
        assert (
            gw.get("/.well-known/acme-challenge/tok", headers={"x-auth": "deny"}).status_code == 200
        )
        r = gw.get("/moved/x", headers={"x-auth": "deny"})
        assert r.status_code == 301
    assert auth.count == before
    assert gw.get("/app/x", headers={"x-auth": "deny"}).status_code == 401
    assert auth.count == before + 1


def test_route_info_tells_whether_auth_applies(gw: RunningGateway) -> None:
    routes = {r["path"]["value"]: r["auth"] for r in gw.overview()["route_info"]}
    assert routes["/app/"]["applies"] is True
    assert routes["/public/"] == {**routes["/public/"], "applies": False, "bypassed": "bypass_auth"}
    assert routes["/moved/"]["bypassed"] == "redirect"
    assert routes["/.well-known/acme-challenge/"]["bypassed"] == "acme-challenge"


def _wait_for(gw: RunningGateway, path: str, status: int) -> None:
    gw.wait_status(path, status, timeout=15.0, headers={"x-auth": "allow"})


def _auth_health(gw: RunningGateway) -> dict[str, Any]:
    health: dict[str, Any] = gw.overview()["auth"]["health"]
    return health


def test_overview_shows_whether_envoy_reaches_the_auth_service(
    gw: RunningGateway, servers: tuple[HttpAuthServer, EchoUpstream]
) -> None:
    """A fresh auth server: its cluster healthy and ext_authz `ok` counting its checks;
    then the server stops: checks fail (403), `error` and connection failures count."""
    auth, _ = servers
    try:
        with HttpAuthServer() as own:
            gw.write("auth.yaml", _http_auth(own.port))
            poll(lambda: gw.get("/app/h", headers={"x-auth": "allow"}) and own.count > 0)
            before = _auth_health(gw)
            for _ in range(3):
                assert gw.get("/app/h", headers={"x-auth": "allow"}).status_code == 200
            assert gw.get("/app/h", headers={"x-auth": "deny"}).status_code == 401
            up = _auth_health(gw)
            assert (up["colour"], up["healthy"], up["endpoints"]) == ("green", 1, 1)
            assert up["ext_authz"]["ok"] >= before["ext_authz"]["ok"] + 3
            assert up["ext_authz"]["denied"] == before["ext_authz"]["denied"] + 1
            assert up["upstream_cx_connect_fail"] == 0
            assert up["upstream_rq_total"] >= 4
        for _ in range(3):
            assert gw.get("/app/h", headers={"x-auth": "allow"}).status_code == 403
        down = _auth_health(gw)
        assert down["ext_authz"]["error"] >= up["ext_authz"]["error"] + 3
        assert down["ext_authz"]["ok"] == up["ext_authz"]["ok"]
        assert down["upstream_cx_connect_fail"] >= 1
        # three failed checks in a row eject the endpoint: the page no longer says green
        assert down["colour"] == "red" and "failed_outlier_check" in down["problems"], down
        html = gw.diag("/ambassador/v0/diag/?json=false").text
        assert f"connect failures {down['upstream_cx_connect_fail']}" in html
    finally:
        gw.write("auth.yaml", _http_auth(auth.port))
        _wait_for(gw, "/app/back", 200)


def test_auth_server_down(gw: RunningGateway, servers: tuple[HttpAuthServer, EchoUpstream]) -> None:
    """Nothing listens on the auth port: closed (403, then status_on_error), or open
    with failure_mode_allow. Restores the working AuthService at the end."""
    auth, _ = servers
    dead = free_port()
    try:
        gw.write("auth.yaml", _http_auth(dead))
        _wait_for(gw, "/app/down", 403)
        gw.write("auth.yaml", _http_auth(dead, status_on_error={"code": 503}))
        _wait_for(gw, "/app/down", 503)
        gw.write("auth.yaml", _http_auth(dead, failure_mode_allow=True))
        _wait_for(gw, "/app/down", 200)
        assert gw.get("/app/down", headers={"x-auth": "deny"}).status_code == 200
    finally:
        gw.write("auth.yaml", _http_auth(auth.port))
        _wait_for(gw, "/app/back", 200)
        poll(lambda: gw.get("/app/back", headers={"x-auth": "deny"}).status_code == 401)


def test_broken_auth_service_fails_closed(
    gw: RunningGateway, servers: tuple[HttpAuthServer, EchoUpstream]
) -> None:
    """An AuthService that cannot work (bad URL) refuses the routes that need it,
    with its status_on_error, even with failure_mode_allow; bypassing routes still work."""
    auth, _ = servers
    try:
        gw.write(
            "auth.yaml",
            auth_service(
                "ftp://127.0.0.1:1", failure_mode_allow=True, status_on_error={"code": 503}
            ),
        )
        _wait_for(gw, "/app/broken", 503)
        assert gw.get("/public/ok").status_code == 200
        overview = gw.overview()
        errors = [(p["resource"], p["message"]) for p in overview["errors"]]
        assert ("AuthService/auth.default", "unsupported scheme 'ftp'; expected http or https") in (
            errors
        )
        assert overview["auth"]["refused"] and overview["auth"]["endpoints"] == []
    finally:
        gw.write("auth.yaml", _http_auth(auth.port))
        _wait_for(gw, "/app/back", 200)
