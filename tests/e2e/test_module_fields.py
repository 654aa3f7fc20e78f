"""Module and Mapping fields through a real Envoy: gzip, error_response_overrides,
ip_deny / ip_allow, lua_scripts, server_name, Mapping defaults, a Module with an
unknown field, and Ingress paths (v1beta1, and a Service that is not in the folder).

127.0.0.2 is a second loopback source address: requests made from it are the
"other client" for the IP rules.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.helpers import free_port


def _module(config: dict[str, object]) -> str:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Module",
        "metadata": {"name": "ambassador", "namespace": "default"},
        "spec": {"config": config},
    }
    return "---\n" + yaml.safe_dump(doc, sort_keys=False)


MODULE = {
    "server_name": "legation-e2e",
    "server_nmae": "a typo: reported on this field, the rest of the Module applies",
    "add_linkerd_headers": True,
    "defaults": {"httpmapping": {"add_request_headers": {"x-default": "from-module"}}},
    "gzip": {"min_content_length": 600, "content_type": ["application/json"]},
    "error_response_overrides": [
        {"on_status_code": 404, "body": {"text_format": "custom 404 for %REQ(:PATH)%"}},
        {
            "on_status_code": 503,
            "body": {"json_format": {"error": "down", "code": "%RESPONSE_CODE%"}},
        },
    ],
    "ip_deny": [{"peer": "127.0.0.2"}],
    "lua_scripts": (
        "function envoy_on_response(handle)\n  handle:headers():add('x-lua', 'seen')\nend\n"
    ),
}


def _ingresses(port: int) -> str:
    """A v1beta1 Ingress, and a v1 one whose Service is not in the folder (EDS by slice)."""
    v1beta1 = {
        "apiVersion": "extensions/v1beta1",
        "kind": "Ingress",
        "metadata": {
            "name": "old",
            "namespace": "default",
            "annotations": {"kubernetes.io/ingress.class": "ambassador"},
        },
        "spec": {
            "rules": [
                {"http": {"paths": [{"path": "/old", "backend": {
                    "serviceName": "echo", "servicePort": port}}]}}
            ]
        },
    }  # fmt: skip
    absent = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "absent",
            "namespace": "web",
            "annotations": {"kubernetes.io/ingress.class": "ambassador"},
        },
        "spec": {
            "rules": [
                {"http": {"paths": [{"path": "/absent", "pathType": "Prefix", "backend": {
                    "service": {"name": "echo", "port": {"number": port}}}}]}}
            ]
        },
    }  # fmt: skip
    dns = {
        **absent,
        "metadata": {**absent["metadata"], "name": "by-dns", "namespace": "localhost"},
        "spec": {
            "rules": [
                {"http": {"paths": [{"path": "/dns", "pathType": "Prefix", "backend": {
                    "service": {"name": "echo", "port": {"number": port}}}}]}}
            ]
        },
    }  # fmt: skip
    slices = [
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "echo-1",
                "namespace": namespace,
                "labels": {"kubernetes.io/service-name": "echo"},
            },
            "addressType": "IPv4",
            "ports": [{"port": port}],
            "endpoints": [{"addresses": ["127.0.0.1"]}],
        }
        for namespace in ("web", "default")
    ]
    docs = (v1beta1, absent, dns, *slices)
    return "".join("---\n" + yaml.safe_dump(d, sort_keys=False) for d in docs)


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoUpstream]:
    with EchoUpstream("echo") as up:
        yield up


@pytest.fixture(scope="module")
def gw(echo: EchoUpstream) -> Iterator[RunningGateway]:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens: Envoy answers 503
    own_rule = [{"on_status_code": 404, "body": {"text_format": "own rule"}}]
    files = {
        "module.yaml": _module(MODULE),
        "mappings.yaml": mapping("app", echo.service, "/app/")
        + mapping("dead", dead, "/dead/")
        + mapping("raw", echo.service, "/raw/", bypass_error_response_overrides=True)
        + mapping("own", echo.service, "/own/", error_response_overrides=own_rule),
        "ingress.yaml": _ingresses(echo.port),
    }
    with RunningGateway(files) as gateway:
        yield gateway


def test_gzip_compresses_large_bodies_only(gw: RunningGateway) -> None:
    """Accept-Encoding: gzip → a JSON body over min_content_length comes back gzipped."""
    big = gw.get("/app/", headers={"accept-encoding": "gzip", "x-pad": "a" * 1000})
    assert big.status_code == 200
    assert big.headers.get("content-encoding") == "gzip"
    assert big.json()["headers"]["x-pad"] == "a" * 1000  # httpx decoded it
    small = gw.get("/app/", headers={"accept-encoding": "gzip"})
    assert small.status_code == 200 and "content-encoding" not in small.headers
    plain = gw.get("/app/", headers={"accept-encoding": "identity", "x-pad": "a" * 1000})
    assert "content-encoding" not in plain.headers


def test_error_bodies_are_replaced(gw: RunningGateway) -> None:
    """No route (404), an upstream's 404 and a dead upstream (503) get the Module's bodies."""
    no_route = gw.get("/nowhere")
    assert (no_route.status_code, no_route.text) == (404, "custom 404 for /nowhere")
    upstream_404 = gw.get("/app/status/404")
    assert upstream_404.status_code == 404
    # %REQ(:PATH)% is the path as sent upstream: the Mapping rewrote /app/ to /
    assert upstream_404.text == "custom 404 for /status/404"
    dead = gw.get("/dead/")
    assert dead.status_code == 503
    assert dead.json() == {"error": "down", "code": 503}  # Envoy types the number


def test_mapping_rules_replace_or_bypass_the_module(gw: RunningGateway) -> None:
    """A Mapping's own rule wins on its route; bypass leaves the upstream's body alone."""
    own = gw.get("/own/status/404")
    assert (own.status_code, own.text) == (404, "own rule")
    raw = gw.get("/raw/status/404")
    assert raw.status_code == 404 and raw.json()["upstream"] == "echo"


def test_server_name_and_lua(gw: RunningGateway) -> None:
    """server_name sets the `server` header; the Lua script adds a response header."""
    resp = gw.get("/app/")
    assert resp.headers["server"] == "legation-e2e"
    assert resp.headers["x-lua"] == "seen"


def _from_127_0_0_2(gw: RunningGateway, path: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=5.0) as client:
        return client.get(gw.url(path))


def test_ip_deny_refuses_the_listed_peer(gw: RunningGateway) -> None:
    """ip_deny peer 127.0.0.2: that source gets 403, 127.0.0.1 is served."""
    assert _from_127_0_0_2(gw, "/app/").status_code == 403
    assert gw.get("/app/").status_code == 200


def test_ip_allow_serves_only_the_listed_peer(echo: EchoUpstream) -> None:
    """ip_allow peer 127.0.0.2: only that source is served."""
    files = {
        "module.yaml": _module({"ip_allow": [{"peer": "127.0.0.2"}]}),
        "mappings.yaml": mapping("app", echo.service, "/app/"),
    }
    with RunningGateway(files) as gw:
        assert _from_127_0_0_2(gw, "/app/").status_code == 200
        assert gw.get("/app/").status_code == 403


def test_v1beta1_ingress_routes(gw: RunningGateway, echo: EchoUpstream) -> None:
    """extensions/v1beta1 serviceName/servicePort, no pathType: /old and /old/... route."""
    for path in ("/old", "/old/x"):
        resp = gw.get(path)
        assert resp.status_code == 200 and resp.json()["path"] == path


def test_ingress_path_to_an_absent_service_routes(gw: RunningGateway) -> None:
    """The Service `echo.web` is not in the folder: the path still routes (its endpoints)."""
    resp = gw.get("/absent/y")
    assert resp.status_code == 200 and resp.json()["path"] == "/absent/y"


def test_ingress_path_to_an_absent_service_routes_by_dns(gw: RunningGateway) -> None:
    """No Service and no endpoints: the path goes to `echo.localhost:port` by DNS."""
    resp = gw.get("/dns/z")
    assert resp.status_code == 200 and resp.json()["path"] == "/dns/z"


def test_unknown_module_field_keeps_the_rest(gw: RunningGateway) -> None:
    """The typo is an error on its field; the Module's other settings are in force."""
    errors = [e for e in gw.overview()["errors"] if e["resource"] == "Module/ambassador.default"]
    assert [e["field"] for e in errors] == ["spec.config.server_nmae"]
    assert gw.get("/app/").headers["server"] == "legation-e2e"


def test_module_defaults_reach_the_upstream(gw: RunningGateway, echo: EchoUpstream) -> None:
    """`defaults.httpmapping.add_request_headers` and `add_linkerd_headers` apply to a
    Mapping that sets neither."""
    seen = gw.get("/app/").json()["headers"]
    assert seen["x-default"] == "from-module"
    assert seen["l5d-dst-override"] == echo.service
