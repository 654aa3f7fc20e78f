"""Mapping features through a real Envoy: redirects, rewrites, matching, CORS, shadowing,
Module defaults, and cluster settings Envoy must accept.

One gateway serves the whole module; each test reads what the upstream saw.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping

NAMES = ["main", "other", "shadow", "cors", "module"]
MODULE = yaml.safe_dump(
    {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Module",
        "metadata": {"name": "ambassador", "namespace": "default"},
        "spec": {"config": {"cors": {"origins": "http://module.example", "methods": "GET"}}},
    }
)


@pytest.fixture(scope="module")
def ups() -> Iterator[dict[str, EchoUpstream]]:
    servers = {name: EchoUpstream(name) for name in NAMES}
    for s in servers.values():
        s.__enter__()
    yield servers
    for s in servers.values():
        s.__exit__(None, None, None)


def _mappings(s: dict[str, str], port: int) -> str:
    m = mapping
    return "".join(
        [
            # redirects: the service names the host to redirect to
            m("redir", "example.com", "/redir/", host_redirect=True),
            m("redir-path", "example.com", "/redir-path/", host_redirect=True,
              path_redirect="/ip", redirect_response_code=302),
            m("redir-prefix", "example.com:8443", "/redir-prefix/", host_redirect=True,
              prefix_redirect="/new/", redirect_response_code=303),
            m("redir-regex", "https://example.com", "/redir-regex/", host_redirect=True,
              regex_redirect={"pattern": "^/redir-regex/([^/]+)/(.*)$", "substitution": r"/\2/\1"},
              redirect_response_code=307),
            m("redir-308", "example.com", "/redir-308/", host_redirect=True,
              redirect_response_code=308),
            # rewriting
            m("host-rewrite", s["main"], "/host-rewrite/", host_rewrite="upstream.example"),
            m("auto-host", f"localhost:{port}", "/auto-host/", auto_host_rewrite=True),
            m("regex-rewrite", s["main"], "/rx/",
              regex_rewrite={"pattern": "^/rx/([^/]+)/(.*)$", "substitution": r"/\2/\1"}),
            # matching
            m("caseless", s["main"], "/CaseLess/", case_sensitive=False, rewrite=""),
            m("method-regex", s["other"], "/methods/", method="PUT|PATCH", method_regex=True),
            m("methods-default", s["main"], "/methods/"),
            m("regex-header", s["other"], "/versioned/", regex_headers={"x-version": "^v[0-9]+$"}),
            m("versioned-default", s["main"], "/versioned/"),
            m("regex-query", s["other"], "/items/", regex_query_parameters={"id": "^[0-9]+$"}),
            m("items-default", s["main"], "/items/"),
            # CORS (the Module sets a default for Mappings without their own)
            m("cors", s["cors"], "/cors/", cors={
                "origins": ["http://allowed.example"], "methods": ["GET", "POST"],
                "headers": "X-Custom", "exposed_headers": ["X-Exposed"],
                "credentials": True, "max_age": "600"}),
            m("cors-module", s["module"], "/cors-module/"),
            # shadowing
            m("primary", s["main"], "/shadowed/", rewrite=""),
            m("shadow", s["shadow"], "/shadowed/", rewrite="", shadow=True),
            # cluster and connection settings Envoy must accept (and still route)
            m("tuned", f"localhost:{port}", "/tuned/", dns_type="logical_dns",
              connect_timeout_ms=1000, idle_timeout_ms=20000, cluster_idle_timeout_ms=30000,
              cluster_max_connection_lifetime_ms=60000,
              keepalive={"idle_time": 60, "interval": 5, "probes": 3},
              load_balancer={"policy": "least_request"}, stats_name="tuned-upstream"),
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def gw(ups: dict[str, EchoUpstream]) -> Iterator[RunningGateway]:
    services = {name: up.service for name, up in ups.items()}
    files = {"mappings.yaml": _mappings(services, ups["main"].port), "module.yaml": MODULE}
    with RunningGateway(files) as gateway:
        yield gateway


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        ("/redir/a/b?q=1", 301, "http://example.com/redir/a/b?q=1"),
        ("/redir-path/x", 302, "http://example.com/ip"),
        ("/redir-prefix/x/y", 303, "http://example.com:8443/new/x/y"),
        ("/redir-regex/a/b", 307, "https://example.com/b/a"),
        ("/redir-308/z", 308, "http://example.com/redir-308/z"),
    ],
)
def test_redirects(gw: RunningGateway, path: str, status: int, location: str) -> None:
    response = gw.get(path)
    assert response.status_code == status, response.text
    assert response.headers["location"] == location


def test_host_rewrite(gw: RunningGateway) -> None:
    seen = gw.get("/host-rewrite/x", headers={"host": "client.example"}).json()
    assert seen["headers"]["host"] == "upstream.example"
    assert seen["upstream"] == "main"


def test_auto_host_rewrite_uses_the_service_host(gw: RunningGateway) -> None:
    seen = gw.get("/auto-host/x", headers={"host": "client.example"}).json()
    assert seen["headers"]["host"].split(":")[0] == "localhost"


def test_regex_rewrite(gw: RunningGateway) -> None:
    assert gw.get("/rx/first/second/third").json()["path"] == "/second/third/first"


def test_case_insensitive_prefix(gw: RunningGateway) -> None:
    assert gw.get("/caseless/x").json()["path"] == "/caseless/x"
    assert gw.get("/CASELESS/y").status_code == 200
    assert gw.get("/caseles/y").status_code == 404


def test_method_regex(gw: RunningGateway) -> None:
    assert gw.request("PUT", "/methods/1").json()["upstream"] == "other"
    assert gw.request("PATCH", "/methods/1").json()["upstream"] == "other"
    assert gw.get("/methods/1").json()["upstream"] == "main"
    assert gw.request("POST", "/methods/1").json()["upstream"] == "main"


def test_regex_headers(gw: RunningGateway) -> None:
    assert gw.get("/versioned/", headers={"x-version": "v12"}).json()["upstream"] == "other"
    assert gw.get("/versioned/", headers={"x-version": "beta"}).json()["upstream"] == "main"
    assert gw.get("/versioned/").json()["upstream"] == "main"


def test_regex_query_parameters(gw: RunningGateway) -> None:
    assert gw.get("/items/?id=42").json()["upstream"] == "other"
    assert gw.get("/items/?id=abc").json()["upstream"] == "main"
    assert gw.get("/items/").json()["upstream"] == "main"


def test_cors_preflight_answered_by_envoy(gw: RunningGateway, ups: dict[str, EchoUpstream]) -> None:
    before = len(ups["cors"].requests)
    response = gw.request(
        "OPTIONS",
        "/cors/x",
        headers={
            "origin": "http://allowed.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "X-Custom",
        },
    )
    assert response.status_code == 200
    h = response.headers
    assert h["access-control-allow-origin"] == "http://allowed.example"
    assert h["access-control-allow-methods"] == "GET, POST"
    assert h["access-control-allow-headers"] == "X-Custom"
    assert h["access-control-max-age"] == "600"
    assert h["access-control-allow-credentials"] == "true"
    assert len(ups["cors"].requests) == before, "the preflight must not reach the upstream"


def test_cors_actual_request_headers(gw: RunningGateway) -> None:
    response = gw.get("/cors/x", headers={"origin": "http://allowed.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://allowed.example"
    assert response.headers["access-control-expose-headers"] == "X-Exposed"


def test_cors_disallowed_origin_gets_no_cors_headers(gw: RunningGateway) -> None:
    response = gw.get("/cors/x", headers={"origin": "http://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = gw.request(
        "OPTIONS",
        "/cors/x",
        headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_module_cors_is_the_default(gw: RunningGateway) -> None:
    ok = gw.get("/cors-module/x", headers={"origin": "http://module.example"})
    assert ok.headers["access-control-allow-origin"] == "http://module.example"
    # a Mapping with its own cors does not inherit the Module's origins
    own = gw.get("/cors/x", headers={"origin": "http://module.example"})
    assert "access-control-allow-origin" not in own.headers


def test_shadow_gets_a_copy_client_sees_primary(
    gw: RunningGateway, ups: dict[str, EchoUpstream]
) -> None:
    response = gw.get("/shadowed/one?n=1")
    assert response.json()["upstream"] == "main"
    deadline = time.monotonic() + 5
    while "/shadowed/one?n=1" not in ups["shadow"].paths() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "/shadowed/one?n=1" in ups["shadow"].paths()
    mirrored = [h for _, p, h in ups["shadow"].requests if p == "/shadowed/one?n=1"]
    assert mirrored[0]["host"].split(":")[0].endswith("-shadow")  # how Envoy marks a mirror


def test_cluster_settings_are_accepted_and_route(gw: RunningGateway) -> None:
    assert gw.get("/tuned/x").json()["upstream"] == "main"
    stats = gw.admin("/stats?filter=tuned-upstream").text
    assert "cluster.tuned-upstream.upstream_rq_total" in stats
