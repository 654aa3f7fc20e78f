"""Emissary's answers through a real Envoy: route order by route_weight, canary members
with their own settings, the host rules, and a host_redirect mixed into a group.

One gateway serves the module; each upstream is an echo server named after the Mapping
expected to answer, so every assertion names the Mapping that served the request.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping

NAMES = ["short", "long", "post", "header", "quote1", "quote2", "quote3", "hostname",
         "host-wins", "c1", "c2", "c3", "c4", "first", "default"]  # fmt: skip
CANARY_REQUESTS = 400


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, EchoUpstream]]:
    ups = {name: EchoUpstream(name) for name in NAMES}
    for up in ups.values():
        up.__enter__()
    yield ups
    for up in ups.values():
        up.__exit__(None, None, None)


def _routes(s: dict[str, str]) -> str:
    return "".join(
        [
            mapping("default", s["default"], "/"),
            # order_header_length: 26 (one long header) beats 2 + 2 (header and parameter)
            mapping(
                "two-short", s["short"], "/hl/", headers={"a": "1"}, query_parameters={"b": "2"}
            ),
            mapping("long-header", s["long"], "/hl/", headers={"x-very-long-header-name": "yes"}),
            # order_method_vs_header: x-some-header: abcdef (19) beats :method POST (11)
            mapping("by-method", s["post"], "/mh/", method="POST"),
            mapping("by-header", s["header"], "/mh/", headers={"x-some-header": "abcdef"}),
            # order_host_as_authority: the example of Emissary's "Host headers" page
            mapping("quote-backend", s["quote1"], "/backend/"),
            mapping("quote-backend-2", s["quote2"], "/backend/", host="quote.datawire.io"),
            mapping(
                "quote-backend-3",
                s["quote3"],
                "/backend/",
                host=r"^quote[2-9]\.datawire\.io$",
                host_regex=True,
            ),
            # hostname overrides host; host overrides an exact :authority header
            mapping(
                "hostname", s["hostname"], "/hn/", hostname="a.example.com", host="b.example.com"
            ),
            mapping(
                "host-wins",
                s["host-wins"],
                "/ha/",
                host="c.example.com",
                headers={":authority": "d.example.com"},
            ),
            # canary members with their own rewrite, host_rewrite and headers, 25 % each
            mapping("canary-1", s["c1"], "/canary/", rewrite="/v1/", host_rewrite="v1.internal"),
            mapping(
                "canary-2",
                s["c2"],
                "/canary/",
                weight=25,
                rewrite="/v2/",
                host_rewrite="v2.internal",
                add_request_headers={"x-canary": "two"},
            ),
            mapping("canary-3", s["c3"], "/canary/", weight=25, rewrite=""),
            mapping("canary-4", s["c4"], "/canary/", weight=25, rewrite="/v4/", timeout_ms=7000),
            # host_redirect_group: the redirect is refused, the first Mapping gets 100 %
            mapping("mapping-1", s["first"], "/redir/"),
            mapping("mapping-2", "elsewhere.example.com", "/redir/", host_redirect=True),
        ]
    )


@pytest.fixture(scope="module")
def gw(upstreams: dict[str, EchoUpstream]) -> Iterator[RunningGateway]:
    s = {name: up.service for name, up in upstreams.items()}
    with RunningGateway({"routes.yaml": _routes(s)}) as gateway:
        yield gateway


def who(gw: RunningGateway, path: str, method: str = "GET", **kwargs: Any) -> str | int:
    """The upstream that answered, or the status when it was not 200."""
    response = gw.request(method, path, **kwargs)
    if response.status_code != 200:
        return response.status_code
    upstream: str = response.json()["upstream"]
    return upstream


def test_longer_header_beats_header_and_parameter(gw: RunningGateway) -> None:
    both = {"a": "1", "x-very-long-header-name": "yes"}
    assert who(gw, "/hl/x?b=2", headers=both) == "long"
    assert who(gw, "/hl/x?b=2", headers={"a": "1"}) == "short"


def test_header_beats_method(gw: RunningGateway) -> None:
    assert who(gw, "/mh/x", method="POST", headers={"x-some-header": "abcdef"}) == "header"
    assert who(gw, "/mh/x", method="POST") == "post"


def test_host_counts_as_authority(gw: RunningGateway) -> None:
    assert who(gw, "/backend/", headers={"host": "quote.datawire.io"}) == "quote2"
    assert who(gw, "/backend/", headers={"host": "quote5.datawire.io"}) == "quote3"
    assert who(gw, "/backend/", headers={"host": "other.example.com"}) == "quote1"


def test_hostname_overrides_host_and_host_overrides_authority(gw: RunningGateway) -> None:
    assert who(gw, "/hn/x", headers={"host": "a.example.com"}) == "hostname"
    assert who(gw, "/hn/x", headers={"host": "b.example.com"}) == "default"
    assert who(gw, "/ha/x", headers={"host": "c.example.com"}) == "host-wins"
    assert who(gw, "/ha/x", headers={"host": "d.example.com"}) == "default"


def test_canary_members_apply_their_own_settings(
    gw: RunningGateway, upstreams: dict[str, EchoUpstream]
) -> None:
    counts: Counter[str | int] = Counter(who(gw, "/canary/x") for _ in range(CANARY_REQUESTS))
    # 100 expected each (sd about 9); independent per-route draws would give c4 about 38
    assert set(counts) == {"c1", "c2", "c3", "c4"}, counts
    assert all(55 <= counts[name] <= 145 for name in ("c1", "c2", "c3", "c4")), counts
    seen = {name: upstreams[name].requests[-1] for name in ("c1", "c2", "c3", "c4")}
    assert seen["c1"][1] == "/v1/x" and seen["c1"][2]["host"] == "v1.internal"
    assert seen["c2"][1] == "/v2/x" and seen["c2"][2]["host"] == "v2.internal"
    assert seen["c2"][2]["x-canary"] == "two"
    assert seen["c3"][1] == "/canary/x" and seen["c3"][2]["host"].startswith("127.0.0.1")
    assert seen["c4"][1] == "/v4/x" and "x-canary" not in seen["c4"][2]
    assert seen["c4"][2]["x-envoy-expected-rq-timeout-ms"] == "7000"


def test_canary_group_is_one_row_of_the_diag_route_table(gw: RunningGateway) -> None:
    routes = gw.diag("/ambassador/v0/diag/routes?json=true").json()["routes"]
    [row] = [
        r for r in routes if r["path"]["value"] == "/canary/" and r["virtual_host"] == "vh_any"
    ]
    members = {c["mapping"]: (c["weight"], c["prefix_rewrite"]) for c in row["clusters"]}
    assert members == {
        "Mapping/canary-1.default": (25, "/v1/"),
        "Mapping/canary-2.default": (25, "/v2/"),
        "Mapping/canary-3.default": (25, None),
        "Mapping/canary-4.default": (25, "/v4/"),
    }
    answer = gw.diag("/ambassador/v0/diag/explain?json=true&path=/canary/x").json()["answer"]
    assert sorted(answer["mappings"]) == sorted(members)
    assert "canary group split" in answer["considered"][-1]["reason"]


def test_host_redirect_group_routes_to_its_first_member(gw: RunningGateway) -> None:
    answers = Counter(who(gw, "/redir/x", follow_redirects=False) for _ in range(40))
    assert answers == Counter({"first": 40})
    errors = gw.overview()["errors"]
    [error] = [e for e in errors if e["resource"] == "Mapping/mapping-2.default"]
    assert (
        "cannot accept mapping-2 with host_redirect after mappings without host_redirect"
        in (error["message"])
    ), json.dumps(errors)


def test_canary_split_is_exact_in_a_matcher_tree_too(upstreams: dict[str, EchoUpstream]) -> None:
    """The member routes sit in one trie key's route list; the split holds there too."""
    s = {name: up.service for name, up in upstreams.items()}
    text = "".join(
        [
            mapping("tree-1", s["c1"], "/tree/"),
            mapping("tree-2", s["c2"], "/tree/", weight=25),
            mapping("tree-3", s["c3"], "/tree/", weight=25),
            mapping("tree-4", s["c4"], "/tree/", weight=25, rewrite="/v4/"),
        ]
    )
    with RunningGateway({"routes.yaml": text}, ["--route-matcher", "tree"]) as tree:
        counts: Counter[str | int] = Counter(who(tree, "/tree/x") for _ in range(CANARY_REQUESTS))
    assert set(counts) == {"c1", "c2", "c3", "c4"}, counts
    assert all(55 <= counts[name] <= 145 for name in ("c1", "c2", "c3", "c4")), counts
    assert upstreams["c4"].requests[-1][1] == "/v4/x"
