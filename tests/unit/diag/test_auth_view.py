"""Which auth applies to each route (route table JSON and HTML), and the AuthService's
health on the overview, from canned Envoy admin answers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; httpx works fine here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from legation.diag.app import build_app
from tests.unit.diag.fake import FakeState, write_config

CONFIG = """\
apiVersion: getambassador.io/v3alpha1
kind: AuthService
metadata: {name: auth, namespace: default}
spec: {auth_service: "127.0.0.1:9100", proto: http}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: app, namespace: default}
spec: {prefix: /app/, service: 127.0.0.1:9001}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: public, namespace: default}
spec: {prefix: /public/, service: 127.0.0.1:9001, bypass_auth: true}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: broken, namespace: default}
spec: {prefix: /broken/, service: 127.0.0.1:9001, bypass_auth: true}
---
apiVersion: getambassador.io/v3alpha1
kind: Filter
metadata: {name: main, namespace: default}
spec:
  JWT: {jwks: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'}
---
apiVersion: getambassador.io/v3alpha1
kind: Filter
metadata: {name: login, namespace: default}
spec:
  OAuth2:
    authorizationURL: http://idp.test/oidc
    authorizationEndpoint: http://idp.test/oidc/authorize
    tokenEndpoint: http://idp.test/oidc/token
    clientID: app
    secret: s
---
apiVersion: getambassador.io/v3alpha1
kind: Filter
metadata: {name: nosecret, namespace: default}
spec:
  OAuth2:
    authorizationURL: http://idp.test/oidc
    authorizationEndpoint: http://idp.test/oidc/authorize
    tokenEndpoint: http://idp.test/oidc/token
    clientID: app
    secretName: missing
---
apiVersion: getambassador.io/v3alpha1
kind: FilterPolicy
metadata: {name: policy, namespace: default}
spec:
  rules:
  - {host: "*", path: /app/*, filters: [{name: main}, {name: login}]}
  - {host: "*", path: /broken/*, filters: [{name: nosecret}]}
"""
CLUSTER = "cluster_extauth_127_0_0_1_9100"


@pytest.fixture
def state(tmp_path: Path) -> FakeState:
    return FakeState(write_config(tmp_path / "config", {"auth.yaml": CONFIG}))


def _client(state: FakeState) -> TestClient:
    return TestClient(
        build_app(state), client=("127.0.0.1", 40000), base_url="http://127.0.0.1:8877"
    )


def _auth_cluster(state: FakeState) -> str:
    gateway = state.gateway()
    assert gateway is not None and gateway.auth is not None
    return gateway.auth.cluster.name


def test_route_table_names_ext_authz_jwt_and_login_per_route(state: FakeState) -> None:
    c = _client(state)
    routes = c.get("/ambassador/v0/diag/routes?json=true").json()["routes"]
    summary = {r["path"]["value"]: r["auth_summary"] for r in routes}
    assert summary["/app/"] == "ext_authz; jwt: default/main; login: login.default"
    assert summary["/public/"] == "bypassed (bypass_auth)"
    assert summary["/broken/"].startswith("bypassed (bypass_auth); login refused (")
    assert "Filter/nosecret.default" in summary["/broken/"]
    html = c.get("/ambassador/v0/diag/routes", headers={"accept": "text/html"}).text
    assert "<th>auth</th>" in html
    assert '<td class="auth">ext_authz; jwt: default/main; login: login.default</td>' in html
    assert '<td class="auth bad">bypassed (bypass_auth); login refused (' in html


def _host(rq_success: int, cx_connect_fail: int) -> dict[str, object]:
    stats = [
        {"name": "rq_success", "value": str(rq_success)},
        {"name": "cx_connect_fail", "value": str(cx_connect_fail)},
    ]
    return {
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 9100}},
        "stats": stats,
        "health_status": {"eds_health_status": "HEALTHY"},
    }


@pytest.mark.parametrize(
    ("rq_success", "cx_connect_fail", "colour"), [(5, 0, "green"), (0, 3, "red")]
)
def test_overview_shows_the_auth_clusters_health_and_check_counts(
    state: FakeState, rq_success: int, cx_connect_fail: int, colour: str
) -> None:
    cluster = _auth_cluster(state)
    host = _host(rq_success, cx_connect_fail)
    body = {"cluster_statuses": [{"name": cluster, "host_statuses": [host]}]}
    state.admin["/clusters"] = (200, json.dumps(body))
    state.admin["/stats"] = (
        200,
        f"cluster.{cluster}.upstream_cx_connect_fail: {cx_connect_fail}\n"
        "http.http_8080.ext_authz.ok: 4\n"
        "http.https_8443.ext_authz.ok: 1\n"
        "http.http_8080.ext_authz.denied: 2\n"
        "http.http_8080.ext_authz.error: 3\n",
    )
    c = _client(state)
    auth = c.get("/ambassador/v0/diag/?json=true").json()["auth"]
    health = auth["health"]
    assert health["colour"] == colour and health["endpoints"] == 1
    assert health["healthy"] == (1 if colour == "green" else 0)
    assert health["upstream_cx_connect_fail"] == cx_connect_fail
    assert health["ext_authz"] == {
        "ok": 5,
        "denied": 2,
        "error": 3,
        "failure_mode_allowed": 0,
        "disabled": 0,
    }
    html = c.get("/ambassador/v0/diag/", headers={"accept": "text/html"}).text
    line = html.split('id="auth-health">')[1].split("</div>")[0]
    assert f'<span class="dot {colour}"' in line
    assert f"{health['healthy']}/1 endpoint healthy" in line
    assert "checks ok 5, denied 2" in line and "error 3" in line
    assert f"connect failures {cx_connect_fail}" in line


def test_overview_without_envoy_says_so(state: FakeState) -> None:
    c = _client(state)
    assert c.get("/ambassador/v0/diag/?json=true").json()["auth"]["health"] is None
    html = c.get("/ambassador/v0/diag/", headers={"accept": "text/html"}).text
    assert "auth service (http)" in html and "Envoy admin unreachable" in html
