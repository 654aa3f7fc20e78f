"""Routing through a real Envoy configured by `legation run`, to real upstreams.

One gateway serves the whole module; each test sends requests and reads which
upstream answered and what it saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping

NAMES = ["default", "regex", "exact", "host", "post", "header", "query", "high", "long",
         "canary-a", "canary-b", "keep", "headers", "annotated"]  # fmt: skip


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, EchoUpstream]]:
    ups = {name: EchoUpstream(name) for name in NAMES}
    for up in ups.values():
        up.__enter__()
    yield ups
    for up in ups.values():
        up.__exit__(None, None, None)


@pytest.fixture(scope="module")
def gw(upstreams: dict[str, EchoUpstream]) -> Iterator[RunningGateway]:
    s = {name: up.service for name, up in upstreams.items()}
    files = {
        "routes.yaml": "".join(
            [
                mapping("default", s["default"], "/"),
                mapping("regex", s["regex"], "/users/[0-9]+/profile", prefix_regex=True),
                mapping("exact", s["exact"], "/exact", prefix_exact=True),
                mapping("host", s["host"], "/", hostname="api.example.com"),
                mapping("post", s["post"], "/orders/", method="POST"),
                mapping("header", s["header"], "/orders/", headers={"x-debug": "1"}),
                mapping("query", s["query"], "/orders/", query_parameters={"verbose": "yes"}),
                mapping("long", s["long"], "/api/v1/"),
                mapping("high", s["high"], "/", precedence=5, headers={"x-vip": "yes"}),
                mapping("canary-main", s["canary-a"], "/canary/", weight=30),
                mapping("canary-b", s["canary-b"], "/canary/"),
                mapping("keep", s["keep"], "/keep/", rewrite=""),
                mapping(
                    "headers",
                    s["headers"],
                    "/headers/",
                    rewrite="/rewritten/",
                    add_request_headers={"x-added": "yes"},
                    remove_request_headers=["x-secret"],
                    add_response_headers={"x-resp": "added"},
                    remove_response_headers=["x-upstream-secret"],
                ),
            ]
        ),
        "svc.yaml": f"""
apiVersion: v1
kind: Service
metadata:
  name: annotated
  namespace: default
  annotations:
    getambassador.io/config: |
      ---
      apiVersion: ambassador/v0
      kind: Mapping
      name: annotated_mapping
      prefix: /annotated/
      service: {s["annotated"]}
""",
    }
    with RunningGateway(files) as gateway:
        yield gateway


def who(gw: RunningGateway, path: str, method: str = "GET", **kwargs: object) -> str:
    response = gw.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return str(response.json()["upstream"])


def test_prefix_and_default(gw: RunningGateway) -> None:
    assert who(gw, "/anything") == "default"
    assert who(gw, "/api/v1/items") == "long"


def test_annotation_mapping(gw: RunningGateway) -> None:
    assert who(gw, "/annotated/x") == "annotated"


def test_regex_match(gw: RunningGateway) -> None:
    assert who(gw, "/users/42/profile") == "regex"
    assert who(gw, "/users/abc/profile") == "default"


def test_exact_match(gw: RunningGateway) -> None:
    assert who(gw, "/exact") == "exact"
    assert who(gw, "/exact/more") == "default"


def test_host_match(gw: RunningGateway) -> None:
    assert who(gw, "/x", headers={"host": "api.example.com"}) == "host"
    assert who(gw, "/x", headers={"host": "api.example.com:8080"}) == "host"
    assert who(gw, "/x", headers={"host": "other.example.com"}) == "default"


def test_method_header_and_query_constraints(gw: RunningGateway) -> None:
    assert who(gw, "/orders/1", method="POST") == "post"
    assert who(gw, "/orders/1", headers={"x-debug": "1"}) == "header"
    assert who(gw, "/orders/1?verbose=yes") == "query"
    assert who(gw, "/orders/1?verbose=no") == "default"


def test_precedence_beats_length(gw: RunningGateway) -> None:
    assert who(gw, "/api/v1/items", headers={"x-vip": "yes"}) == "high"


def test_default_rewrite_replaces_prefix(gw: RunningGateway) -> None:
    assert gw.get("/annotated/a/b").json()["path"] == "/a/b"


def test_empty_rewrite_keeps_path(gw: RunningGateway) -> None:
    assert gw.get("/keep/a/b").json()["path"] == "/keep/a/b"


def test_explicit_rewrite_and_headers(gw: RunningGateway) -> None:
    response = gw.get("/headers/x", headers={"x-secret": "s3cret"})
    seen = response.json()
    assert seen["path"] == "/rewritten/x"
    assert seen["headers"]["x-added"] == "yes"
    assert "x-secret" not in seen["headers"]
    assert response.headers["x-resp"] == "added"
    assert "x-upstream-secret" not in response.headers
    # without the Mapping's header settings, the upstream header does come through
    assert gw.get("/anything").headers["x-upstream-secret"] == "hidden"


def test_canary_weights(gw: RunningGateway) -> None:
    """30/70 split over 400 requests, within ±8 points (well over 3 standard deviations)."""
    counts = Counter(who(gw, "/canary/x") for _ in range(400))
    share_a = counts["canary-a"] / 400
    assert set(counts) == {"canary-a", "canary-b"}
    assert abs(share_a - 0.30) < 0.08, counts


def test_unknown_route_is_404(upstreams: dict[str, EchoUpstream]) -> None:
    """Without a catch-all Mapping, unmatched requests get 404 from Envoy."""
    with RunningGateway({"one.yaml": mapping("one", upstreams["keep"].service, "/one/")}) as g:
        assert g.get("/nowhere").status_code == 404
        assert g.get("/one/").status_code == 200
