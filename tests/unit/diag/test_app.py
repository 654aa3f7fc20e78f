"""The diagnostics app over an in-process build: pages, JSON, access rules."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():  # starlette suggests httpx2; httpx works fine here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from legation.diag.app import build_app
from legation.diag.state import DiagSettings
from tests.unit.diag.fake import FakeState, clusters_json, write_config

GOOD = """\
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: good, namespace: default}
spec: {prefix: /good/, service: 127.0.0.1:9001, headers: {x-env: prod}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: canary, namespace: default}
spec: {prefix: /good/, service: 127.0.0.1:9002, headers: {x-env: prod}, weight: 10}
"""
BROKEN = """\
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: broken, namespace: default}
spec:
  prefix: /broken/
  service: 127.0.0.1:9001
  precedence: high
"""
ANNOTATED = """\
apiVersion: v1
kind: Service
metadata:
  name: quote
  namespace: shop
  annotations:
    getambassador.io/config: |
      apiVersion: getambassador.io/v2
      kind: Mapping
      name: quote
      prefix: /quote/
      service: 127.0.0.1:9003
spec: {ports: [{port: 80}]}
"""
LOCAL = ("127.0.0.1", 40000)
REMOTE = ("10.1.2.3", 40000)


@pytest.fixture
def state(tmp_path: Path) -> FakeState:
    folder = write_config(
        tmp_path / "config", {"good.yaml": GOOD, "broken.yaml": BROKEN, "svc.yaml": ANNOTATED}
    )
    fake = FakeState(folder)
    fake.admin["/clusters"] = (
        200,
        clusters_json({"cluster_127_0_0_1_9001": [True], "cluster_127_0_0_1_9002": [True, False]}),
    )
    fake.admin["/stats/prometheus"] = (200, "# TYPE envoy_up gauge\nenvoy_up 1\n")
    fake.admin["/stats"] = (200, "cluster.cluster_127_0_0_1_9001.upstream_rq_total: 7\n")
    return fake


def client(
    state: FakeState, address: tuple[str, int] = LOCAL, base_url: str = "http://127.0.0.1:8877"
) -> TestClient:
    return TestClient(build_app(state), client=address, base_url=base_url)


def test_overview_json_groups_errors_with_file_and_line(state: FakeState) -> None:
    data = client(state).get("/ambassador/v0/diag/?json=true").json()
    [error] = data["errors"]
    assert error["resource"] == "Mapping/broken.default"
    assert (error["file"], error["line"], error["field"]) == ("broken.yaml", 7, "spec.precedence")
    [group] = data["error_groups"]
    assert group["url"] == "/ambassador/v0/diag/resource/Mapping/broken.default"
    assert data["cluster_health"]["cluster_127_0_0_1_9002"] == "yellow"


def test_without_json_flag_browsers_get_html_and_scripts_json(state: FakeState) -> None:
    c = client(state)
    html = c.get("/ambassador/v0/diag/", headers={"accept": "text/html,*/*"})
    assert html.headers["content-type"].startswith("text/html")
    assert "broken.yaml:7" in html.text and "Mapping/broken.default" in html.text
    assert c.get("/ambassador/v0/diag/").json()["errors"]
    assert c.get("/ambassador/v0/diag/?json=false").headers["content-type"].startswith("text/html")


def test_overview_shows_whether_this_replica_writes_status(state: FakeState) -> None:
    def shown() -> str:
        html = client(state).get("/ambassador/v0/diag/", headers={"accept": "text/html"}).text
        return (
            html.split('id="write-back">', 1)[1].split("</div>", 1)[0]
            if "write-back" in html
            else ""
        )

    assert shown() == ""  # a folder: nothing is written back
    state.write_back = "follower"
    assert "follower" in shown() and "another replica holds the Lease" in shown()
    state.write_back = "leader"
    assert "leader" in shown() and "this replica writes them" in shown()


def test_route_table_has_weights_constraints_colours_and_provenance(state: FakeState) -> None:
    routes = client(state).get("/ambassador/v0/diag/routes?json=true").json()["routes"]
    good = next(r for r in routes if r["path"]["value"] == "/good/")
    assert good["headers"] == [{"name": "x-env", "value": "prod", "regex": False}]
    weights = {c["name"]: (c["weight"], c["colour"]) for c in good["clusters"]}
    assert weights == {
        "cluster_127_0_0_1_9001": (90, "green"),
        "cluster_127_0_0_1_9002": (10, "yellow"),
    }
    assert good["colour"] == "yellow"
    quote = next(r for r in routes if r["path"]["value"] == "/quote/")
    assert quote["provenance"] == {
        "location": "svc.yaml",
        "line": quote["provenance"]["line"],
        "annotation": "getambassador.io/config",
        "document": 0,
    }
    assert quote["clusters"][0]["colour"] == "grey"  # Envoy does not know it
    html = client(state).get("/ambassador/v0/diag/routes?json=false").text
    assert "Mapping/quote.shop" in html and "90%" in html


def test_resource_detail_of_an_invalid_resource_shows_the_document(state: FakeState) -> None:
    data = client(state).get("/ambassador/v0/diag/resource/Mapping/broken.default?json=true").json()
    assert data["valid"] is False
    assert data["problems"][0]["field"] == "spec.precedence"
    assert "precedence: high" in data["inputs"][0]["yaml"]
    assert data["routes"] == [] and data["clusters"] == []


def test_resource_detail_lists_routes_and_envoy_output(state: FakeState) -> None:
    data = client(state).get("/ambassador/v0/diag/resource/Mapping/canary.default?json=true").json()
    assert data["valid"] is True
    [route] = data["routes"]
    assert set(route["mappings"]) == {"Mapping/good.default", "Mapping/canary.default"}
    assert [c["name"] for c in data["clusters"]] == ["cluster_127_0_0_1_9002"]
    [envoy_route] = data["envoy"]["routes"]  # the canary member's own route
    [own] = [c for c in route["clusters"] if c["mapping"] == "Mapping/canary.default"]
    assert envoy_route["name"] == own["route"] != route["name"]
    assert "runtime_fraction" in envoy_route["json"]
    assert '"cluster": "cluster_127_0_0_1_9002"' in envoy_route["json"]
    assert "cluster_127_0_0_1_9002" in data["envoy"]["clusters"][0]["json"]
    assert client(state).get("/ambassador/v0/diag/resource/Mapping/nope.default").status_code == 404


def test_clusters_page_joins_envoy_health(state: FakeState) -> None:
    data = client(state).get("/ambassador/v0/diag/clusters?json=true").json()
    by_name = {c["name"]: c for c in data["clusters"]}
    first = by_name["cluster_127_0_0_1_9001"]
    assert first["colour"] == "green" and first["envoy"]["stats"]["upstream_rq_total"] == 7
    assert by_name["cluster_127_0_0_1_9002"]["envoy"]["healthy"] == 1
    assert by_name["cluster_127_0_0_1_9003"]["colour"] == "grey"


def test_route_tester_names_winner_and_reasons(state: FakeState) -> None:
    c = client(state)
    data = c.get(
        "/ambassador/v0/diag/explain",
        params={"method": "GET", "path": "/good/x", "headers": "x-env: dev", "json": "true"},
    ).json()
    assert data["answer"]["route"] is None
    assert any("header x-env" in v["reason"] for v in data["answer"]["considered"])
    data = c.get(
        "/ambassador/v0/diag/explain",
        params={"path": "/good/x", "headers": "x-env: prod", "json": "true"},
    ).json()
    assert data["answer"]["mappings"][0] in ("Mapping/good.default", "Mapping/canary.default")
    bad = c.get("/ambassador/v0/diag/explain", params={"path": "/", "headers": "nocolon"})
    assert "expected 'name: value'" in bad.json()["error"]


def test_metrics_concatenates_envoy_and_legation(state: FakeState) -> None:
    text = client(state, REMOTE).get("/metrics").text
    assert "envoy_up 1" in text and "legation_test 1.0" in text


def test_non_local_clients_are_refused_unless_the_module_allows(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "c", {"good.yaml": GOOD})
    closed = FakeState(folder)
    assert client(closed, REMOTE).get("/ambassador/v0/diag/?json=true").status_code == 403
    assert client(closed, REMOTE).get("/ambassador/v0/diag/routes").status_code == 403
    assert client(closed, REMOTE).get("/ambassador/v0/check_ready").status_code == 200
    assert client(closed, REMOTE).get("/metrics").status_code == 200
    opened = FakeState(folder, DiagSettings(enabled=True, allow_non_local=True))
    assert client(opened, REMOTE).get("/ambassador/v0/diag/?json=true").status_code == 200
    disabled = FakeState(folder, DiagSettings(enabled=False, allow_non_local=True))
    assert client(disabled, REMOTE).get("/ambassador/v0/diag/").status_code == 403
    assert client(disabled, LOCAL).get("/ambassador/v0/diag/").status_code == 200


def test_loglevel_is_loopback_only_and_same_origin(state: FakeState) -> None:
    url = "/ambassador/v0/diag/loglevel"
    state.diag_settings = DiagSettings(allow_non_local=True)
    assert client(state, REMOTE).get("/ambassador/v0/diag/?json=true").status_code == 200
    assert client(state, REMOTE).post(url, params={"level": "debug"}).status_code == 403
    cross = client(state).post(
        url, params={"level": "debug"}, headers={"origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    same = {"origin": "http://127.0.0.1:8877"}
    ok = client(state).post(
        url, params={"level": "debug", "component": "envoy", "json": "true"}, headers=same
    )
    assert ok.json()["levels"] == {"legation": "info", "envoy": "debug"}
    form = client(state).post(
        url,
        content=b"component=legation&level=debug",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "accept": "text/html",
            **same,
        },
    )
    assert form.status_code == 200 and "legation: debug" in form.text
    bad = client(state).post(url, params={"level": "loud", "json": "true"}, headers=same)
    assert bad.status_code == 400 and "loud" in bad.json()["error"]
    assert client(state).get(url).status_code == 405


def test_route_table_shows_each_canary_members_own_rewrite(tmp_path: Path) -> None:
    members = """\
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: one, namespace: default}
spec: {prefix: /m/, service: 127.0.0.1:9001, rewrite: /one/}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: two, namespace: default}
spec: {prefix: /m/, service: 127.0.0.1:9002, rewrite: /two/, host_rewrite: two.internal, weight: 40}
"""
    c = client(FakeState(write_config(tmp_path / "config", {"m.yaml": members})))
    [row] = c.get("/ambassador/v0/diag/routes?json=true").json()["routes"]
    assert [(m["mapping"], m["weight"], m["prefix_rewrite"]) for m in row["clusters"]] == [
        ("Mapping/one.default", 60, "/one/"),
        ("Mapping/two.default", 40, "/two/"),
    ]
    html = c.get("/ambassador/v0/diag/routes", headers={"accept": "text/html"}).text
    assert "rewrite → <code>/two/</code>" in html and "host → <code>two.internal</code>" in html


VIEWS = (
    "/ambassador/v0/diag/?json=true",
    "/ambassador/v0/diag/routes?json=true",
    "/ambassador/v0/diag/clusters?json=true",
    "/ambassador/v0/diag/resource/Mapping/good.default?json=true",
    "/ambassador/v0/diag/explain?path=/good/&json=true",
    "/ambassador/v0/diag",
)
LOGLEVEL = "/ambassador/v0/diag/loglevel"


def test_views_and_loglevel_refuse_a_foreign_host(state: FakeState) -> None:
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends Host: evil.example."""
    evil = client(state, base_url="http://evil.example:8877")
    for path in VIEWS:
        answer = evil.get(path, follow_redirects=False)
        assert answer.status_code == 421, path
        assert "evil.example" in answer.text and "--diag-allowed-host" in answer.text
    before = dict(state.levels)
    post = evil.post(
        LOGLEVEL, params={"level": "debug"}, headers={"origin": "http://evil.example:8877"}
    )
    assert post.status_code == 421
    assert state.levels == before  # nothing changed


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8877",
        "http://127.0.0.1",
        "http://localhost:8877",
        "http://LOCALHOST",
        "http://[::1]:8877",
        "http://10.1.2.3:8877",  # an IP literal cannot be a rebound name
    ],
)
def test_views_answer_hosts_that_name_the_gateway(state: FakeState, base_url: str) -> None:
    for path in VIEWS[:-1]:
        assert client(state, base_url=base_url).get(path).status_code == 200, path


def test_configured_names_are_allowed(state: FakeState) -> None:
    app = build_app(state, allowed_hosts=("Diag.Example.",))
    named = TestClient(app, client=LOCAL, base_url="http://diag.example:8877")
    assert named.get(VIEWS[0]).status_code == 200
    other = TestClient(app, client=LOCAL, base_url="http://diag.example.evil:8877")
    assert other.get(VIEWS[0]).status_code == 421


def test_probes_and_metrics_answer_any_host(state: FakeState) -> None:
    """The kubelet and Prometheus name the pod by IP or by a Service name."""
    for base_url in ("http://evil.example", "http://legation-admin.ns.svc:8877"):
        c = client(state, REMOTE, base_url=base_url)
        assert c.get("/ambassador/v0/check_alive").status_code == 200
        assert c.get("/ambassador/v0/check_ready").status_code == 200
        assert c.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://127.0.0.1:8877.evil.example"},
        {"origin": "http://127.0.0.1:9999"},
        {"origin": "http://127.0.0.1:8877", "sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-origin"},  # no Origin at all
    ],
)
def test_loglevel_needs_a_same_origin_origin(state: FakeState, headers: dict[str, str]) -> None:
    before = dict(state.levels)
    answer = client(state).post(LOGLEVEL, params={"level": "debug"}, headers=headers)
    assert answer.status_code == 403
    assert "Origin" in answer.text
    assert state.levels == before


def test_loglevel_with_a_matching_origin_changes_the_level(state: FakeState) -> None:
    for base_url in ("http://127.0.0.1:8877", "http://localhost:8877", "http://[::1]:8877"):
        answer = client(state, base_url=base_url).post(
            LOGLEVEL,
            params={"level": "debug", "component": "legation", "json": "true"},
            headers={"origin": base_url, "sec-fetch-site": "same-origin"},
        )
        assert answer.status_code == 200, base_url
    assert state.levels["legation"] == "debug"


def test_forwarded_headers_never_make_a_client_local(state: FakeState) -> None:
    """Authorization is by the socket's peer: X-Forwarded-For / Forwarded are ignored."""
    spoof = {"x-forwarded-for": "127.0.0.1", "forwarded": "for=127.0.0.1", "x-real-ip": "::1"}
    remote = client(state, REMOTE)
    assert remote.get(VIEWS[0], headers=spoof).status_code == 403
    post = remote.post(
        LOGLEVEL, params={"level": "debug"}, headers={**spoof, "origin": "http://127.0.0.1:8877"}
    )
    assert post.status_code == 403
    local = client(state).get(VIEWS[0], headers={"x-forwarded-for": "8.8.8.8"})
    assert local.status_code == 200


def test_uvicorn_does_not_trust_proxy_headers(state: FakeState) -> None:
    """uvicorn would rewrite the client from X-Forwarded-For when the peer is 127.0.0.1
    (where Envoy is); the diagnostics server must not let it."""
    from legation.diag.server import server_config

    config = server_config(build_app(state), "127.0.0.1", 0)
    assert config.proxy_headers is False


def test_certificates_page_lists_subject_sans_expiry_and_fingerprint(tmp_path: Path) -> None:
    from tests.certs import TestCA
    from tests.e2e.tls import host, tls_secret

    ca = TestCA()
    soon, later = ca.issue("soon.test"), ca.issue("later.test", days=90)
    files = {
        "tls.yaml": tls_secret("soon-tls", soon) + "---\n" + tls_secret("later-tls", later),
        "hosts.yaml": host("soon", "soon.test", "soon-tls")
        + host("later", "later.test", "later-tls"),
    }
    state = FakeState(write_config(tmp_path / "config", files))
    data = client(state).get("/ambassador/v0/diag/certificates?json=true").json()
    by_name = {c["name"]: c for c in data["certificates"]}
    assert by_name["default/soon-tls"]["expiring_soon"] is True
    assert by_name["default/later-tls"]["expiring_soon"] is False
    assert by_name["default/later-tls"]["sans"] == ["later.test"]
    assert by_name["default/soon-tls"]["source_url"].endswith("/resource/Secret/soon-tls.default")
    html = client(state).get("/ambassador/v0/diag/certificates?json=false").text
    fingerprint = by_name["default/soon-tls"]["fingerprint_sha256"]
    assert fingerprint in html and "CN=soon.test" in html and "later.test" in html
    assert html.count('class="bad expiring"') == 1 and "BEGIN" not in html
