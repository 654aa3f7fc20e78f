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


def client(state: FakeState, address: tuple[str, int] = LOCAL) -> TestClient:
    return TestClient(build_app(state), client=address)


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
    ok = client(state).post(url, params={"level": "debug", "component": "envoy", "json": "true"})
    assert ok.json()["levels"] == {"legation": "info", "envoy": "debug"}
    form = client(state).post(
        url,
        content=b"component=legation&level=debug",
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert form.status_code == 200 and "legation: debug" in form.text
    bad = client(state).post(url, params={"level": "loud", "json": "true"})
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
