"""Route order as Emissary's route_weight, and the host / hostname / :authority rules."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.compile.host_match import HostError, HostMatch, host_match
from legation.compile.route_weight import route_weight
from legation.ir.gateway import RouteConfig
from legation.model.mapping import MappingSpec
from tests.unit.compile.test_incremental import mapping


def _spec(**fields: Any) -> MappingSpec:
    return MappingSpec.model_validate({"prefix": "/p/", "service": "s:80", **fields})


def _weight(**fields: Any) -> tuple[int, int]:
    spec = _spec(**fields)
    host = host_match(spec)
    assert isinstance(host, HostMatch)
    w = route_weight(spec, host)
    return w.header_length, w.query_length


def test_lengths_of_matches() -> None:
    assert _weight(headers={"x-very-long-header-name": "yes"}) == (26, 0)
    assert _weight(headers={"a": "1"}, query_parameters={"b": "2"}) == (2, 2)
    assert _weight(headers={"p": True}) == (2, 0)  # a presence match counts "*"
    assert _weight(regex_headers={"p": "1"}) == (3, 0)  # +1 for a regex
    assert _weight(regex_query_parameters={"q": "ab"}, query_parameters={"r": True}) == (0, 6)


def test_method_and_host_count_as_headers() -> None:
    assert _weight(method="POST") == (len(":method") + 4, 0)
    assert _weight(method="P.*", method_regex=True) == (len(":method") + 3 + 1, 0)
    assert _weight(host="a.example.com") == (10 + 13, 0)
    assert _weight(host="^a$", host_regex=True) == (10 + 3 + 1, 0)
    assert _weight(hostname="*") == (11, 0)  # as in Emissary, even the catch-all glob
    assert _weight(headers={":authority": "a.example.com"}) == (23, 0)
    assert _weight(hostname="b.example.com", host="a.example.com") == (23, 0)  # one :authority


def test_prefix_counts_as_written_and_method_defaults_to_get() -> None:
    w = route_weight(_spec(prefix="/u/[0-9]+", prefix_regex=True), HostMatch("*"))
    assert (w.path_length, w.path, w.method) == (9, "/u/[0-9]+", "GET")


def test_host_rules() -> None:
    assert host_match(_spec(hostname="A.example.com", host="b.example.com")) == HostMatch(
        "a.example.com", written="A.example.com", ignored=(("host", "hostname"),)
    )
    assert host_match(_spec(host="^b$", host_regex=True)) == HostMatch("*", "^b$", "^b$")
    assert host_match(_spec(hostname="a.example.com", host="^b$", host_regex=True)).regex is None
    assert host_match(_spec(headers={":Authority": "c.example.com"})).hostname == "c.example.com"
    assert host_match(_spec(headers={":authority": True})) == HostMatch("*")  # presence only
    for bad in ({"host": "*"}, {"host": "*.x"}, {"headers": {":authority": "*.x"}}):
        assert isinstance(host_match(_spec(**bad)), HostError), bad
    # the error stands even when hostname would override (Emissary rejects the Mapping)
    assert isinstance(host_match(_spec(host="*", hostname="a.example.com")), HostError)


def _order(config: RouteConfig, vh: int = -1) -> list[str]:
    return [r.mappings[0].split("/")[1].split(".")[0] for r in config.virtual_hosts[vh].routes]


def test_order_is_route_weight_descending_with_string_tie_breakers() -> None:
    objects = [
        mapping("short", "/api/", "s:80", headers={"a": "1"}, query_parameters={"b": "2"}),
        mapping("long", "/api/", "s:80", headers={"x-very-long-header-name": "yes"}),
        mapping("post", "/orders/", "s:80", method="POST"),
        mapping("header", "/orders/", "s:80", headers={"x-some-header": "abcdef"}),
        mapping("put", "/things/", "s:80", method="PUT"),
        mapping("get", "/things/", "s:80", method="GET"),  # 7 + 3, like PUT: "PUT" > "GET"
        mapping("b", "/b/", "s:80"),
        mapping("a", "/a/", "s:80"),
        mapping("exact", "/a/", "s:80", prefix_exact=True),  # a tie: exact before prefix
        mapping("high", "/", "s:80", precedence=1),
    ]
    assert _order(compile_config(objects).gateway.route_configs[0]) == [
        "high", "header", "post", "put", "get", "long", "short", "b", "exact", "a",
    ]  # fmt: skip


def test_host_mapping_is_tried_before_the_catch_all_in_its_virtual_host() -> None:
    objects = [
        mapping("quote1", "/backend/", "quote1"),
        mapping("quote2", "/backend/", "quote2", host="quote.datawire.io"),
    ]
    config = compile_config(objects).gateway.route_configs[0]
    assert config.virtual_hosts[0].domains[0] == "quote.datawire.io"
    assert _order(config, 0) == ["quote2", "quote1"]
