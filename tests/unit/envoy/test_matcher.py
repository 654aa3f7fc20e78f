"""The matcher tree chooses exactly what the ordered route list chooses."""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_pb2
from google.protobuf import any_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from legation.compile.compiler import compile_config
from legation.diag.explain import Request, explain, why_not
from legation.envoy.matcher import choose, plan_tree
from legation.envoy.route import RouteTranslator
from legation.ir.gateway import RouteConfig
from legation.ir.provenance import Source
from legation.model.raw import RawObject

SEGMENTS = ["a", "ab", "b", "c"]


def _mapping(i: int, spec: dict[str, Any]) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": f"m{i}"},
        "spec": {"service": f"s{i % 3}:80", **spec},
    }
    return RawObject(doc=doc, source=Source(f"m{i}.yaml", 1))


paths = st.lists(st.sampled_from(SEGMENTS), min_size=0, max_size=3).map(lambda s: "/" + "/".join(s))


@st.composite
def mapping_spec(draw: st.DrawFn) -> dict[str, Any]:
    prefix = draw(paths)
    if draw(st.booleans()):
        prefix += "/"
    spec: dict[str, Any] = {"prefix": prefix}
    kind = draw(st.sampled_from(["prefix", "prefix", "prefix", "exact", "regex", "nocase"]))
    if kind == "exact":
        spec["prefix_exact"] = True
    elif kind == "regex":
        spec["prefix"] = prefix.rstrip("/") + "/[a-c]+"
        spec["prefix_regex"] = True
    elif kind == "nocase":
        spec["prefix"] = prefix.upper()
        spec["case_sensitive"] = False
    if draw(st.integers(0, 4)) == 0:
        spec["headers"] = {"x-h": draw(st.sampled_from(["1", "2", True]))}
    if draw(st.integers(0, 6)) == 0:  # a longer header outweighs a header and a parameter
        spec["headers"] = {"x-long-header": "1"}
    if draw(st.integers(0, 5)) == 0:
        spec["query_parameters"] = {"q": draw(st.sampled_from(["1", True]))}
    if draw(st.integers(0, 4)) == 0:
        spec["method"] = draw(st.sampled_from(["GET", "POST"]))
    if draw(st.integers(0, 5)) == 0:
        spec["precedence"] = draw(st.integers(-1, 2))
    return spec


@st.composite
def requests(draw: st.DrawFn) -> Request:
    path = draw(paths) + draw(st.sampled_from(["", "/", "x", "/b/c"]))
    headers = {"x-h": draw(st.sampled_from(["1", "2"]))} if draw(st.booleans()) else {}
    if draw(st.booleans()):
        headers["x-long-header"] = "1"
    query = draw(st.sampled_from(["", "?q=1", "?q=2"]))
    return Request.from_url(draw(st.sampled_from(["GET", "POST"])), path + query, headers)


def route_config(specs: list[dict[str, Any]]) -> RouteConfig:
    objects = [_mapping(i, s) for i, s in enumerate(specs)]
    return compile_config(objects).gateway.route_configs[0]


def tree_choice(config: RouteConfig, request: Request) -> str | None:
    """What the matcher tree picks: the first candidate of the longest key that matches."""
    vh = config.virtual_hosts[-1]
    for route in choose(plan_tree(vh.routes), request.path):
        if why_not(route, request) is None:
            return route.name
    return None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(mapping_spec(), min_size=1, max_size=25), st.lists(requests(), min_size=1, max_size=10)
)
def test_tree_equals_ordered_list(specs: list[dict[str, Any]], reqs: list[Request]) -> None:
    config = route_config(specs)
    for request in reqs:
        listed = explain(config, request).winner
        assert tree_choice(config, request) == (listed.name if listed else None), request


def _reference_matcher(config: RouteConfig) -> Any:
    """The matcher built through the protobuf API, to check the hand-assembled bytes."""
    from envoy.config.route.v3 import route_components_pb2 as rc
    from envoy.type.matcher.v3 import http_inputs_pb2
    from xds.type.matcher.v3 import matcher_pb2

    from legation.envoy.route import translate_route

    def on_match(routes: tuple[Any, ...]) -> Any:
        action = matcher_pb2.Matcher.OnMatch()
        action.action.name = "routes"
        action.action.typed_config.Pack(rc.RouteList(routes=[translate_route(r) for r in routes]))
        return action

    plan = plan_tree(config.virtual_hosts[-1].routes)
    matcher = matcher_pb2.Matcher()
    matcher.matcher_tree.input.name = "request-headers"
    matcher.matcher_tree.input.typed_config.Pack(
        http_inputs_pb2.HttpRequestHeaderMatchInput(header_name=":path")
    )
    for key, routes in plan.keyed.items():
        matcher.matcher_tree.prefix_match_map.map[key].CopyFrom(on_match(routes))
    if plan.fallback:
        matcher.on_no_match.CopyFrom(on_match(plan.fallback))
    return matcher


def _unpacked(matcher: Any) -> dict[str, Any]:
    """Matcher actions as messages (Any bytes may differ in map order, messages may not)."""
    from envoy.config.route.v3 import route_components_pb2 as rc

    def routes(on_match: Any) -> Any:
        assert on_match.action.name == "routes"
        out = rc.RouteList()
        assert on_match.action.typed_config.Unpack(out)
        return out

    tree = matcher.matcher_tree
    result = {key: routes(value) for key, value in tree.prefix_match_map.map.items()}
    result["<input>"] = tree.input.typed_config.value
    if matcher.HasField("on_no_match"):
        result["<no match>"] = routes(matcher.on_no_match)
    return result


def test_serialized_tree_matches_the_protobuf_api() -> None:
    """The hand-assembled bytes parse into exactly the message the protobuf API builds."""
    specs: list[dict[str, Any]] = [
        {"prefix": f"/p{i}/", "headers": {"x": "1"}} if i % 7 == 0 else {"prefix": f"/p{i}/"}
        for i in range(80)
    ]
    specs += [{"prefix": "/r/[0-9]+", "prefix_regex": True}, {"prefix": "/"}]
    config = route_config(specs)
    packed = RouteTranslator(lambda routes: True).route_configuration(config)
    message = route_pb2.RouteConfiguration()
    assert isinstance(packed, any_pb2.Any)
    assert packed.Unpack(message)
    vh = message.virtual_hosts[0]
    assert not vh.routes
    assert _unpacked(vh.matcher) == _unpacked(_reference_matcher(config))
    assert len(vh.matcher.matcher_tree.prefix_match_map.map) == 81


@settings(max_examples=120, deadline=None)
@given(st.lists(st.lists(mapping_spec(), min_size=1, max_size=20), min_size=2, max_size=5))
def test_incremental_tree_equals_fresh_plan(steps: list[list[dict[str, Any]]]) -> None:
    """Updating one TreeCache through a series of route sets gives the fresh plan each time.

    Consecutive sets share most Route objects (the compile cache reuses them), so the
    incremental path is exercised, not only the rebuild.
    """
    from legation.compile.compiler import CompileCache, CompileOptions
    from legation.envoy.tree_cache import TreeCache, plans_equal

    cache = CompileCache()
    trees = TreeCache()
    kept: list[dict[str, Any]] = []
    for step in steps:
        kept = kept[: len(kept) // 2 + 1] + step  # keep some Mappings, add others
        objects = [_mapping(i, s) for i, s in enumerate(kept)]
        config = compile_config(objects, CompileOptions(), cache).gateway.route_configs[0]
        routes = config.virtual_hosts[-1].routes
        trees.matcher_bytes(routes, lambda r: r.name.encode())
        assert plans_equal(trees.plan(), plan_tree(routes))
