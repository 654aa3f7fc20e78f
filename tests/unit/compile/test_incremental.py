"""Invariants: incremental compile equals a full compile; input order does not matter."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from legation.compile.compiler import CompileCache, CompileOptions, compile_config
from legation.envoy.translator import Translator, translate
from legation.ir.provenance import Source
from legation.model.raw import RawObject


def mapping(name: str, prefix: str, service: str, **extra: object) -> RawObject:
    """A v3alpha1 Mapping document as the folder source would produce it."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name},
        "spec": {"prefix": prefix, "service": service, **extra},
    }
    return RawObject(doc=doc, source=Source(f"{name}.yaml", 1))


def _serialized(objects: list[RawObject]) -> dict[str, dict[str, bytes]]:
    result = translate(compile_config(objects).gateway)
    return {
        t: {n: m.SerializeToString(deterministic=True) for n, m in msgs.items()}
        for t, msgs in result.by_type_url().items()
    }


prefixes = st.sampled_from(["/", "/a/", "/a/b/", "/b/", "/c/d/e/"])
weights = st.one_of(st.none(), st.integers(0, 100))
traffic = st.sampled_from(
    [
        {},
        {"circuit_breakers": [{"max_connections": 1}]},
        {"circuit_breakers": [{"max_connections": 2}]},
        {"retry_policy": {"retry_on": "5xx", "num_retries": 2}},
        {"shadow": True},
        {"cors": {"origins": ["*"]}},
        {"load_balancer": {"policy": "ring_hash", "header": "x-u"}},
        {"host_redirect": True},
        {"grpc": True, "allow_upgrade": ["websocket"]},
        {"rewrite": "/other/", "host_rewrite": "upstream.example.com"},
        {"timeout_ms": 9000, "add_request_headers": {"x-member": "yes"}},
        {"hostname": "a.example.com"},
        {"host": "a.example.com"},
        {"headers": {":authority": "a.example.com"}},
    ]
)
"""Traffic settings: cluster identity, route options (a canary member's own), shadows,
redirects and the host rules."""


@st.composite
def mapping_sets(draw: st.DrawFn) -> list[RawObject]:
    count = draw(st.integers(1, 12))
    out = []
    for i in range(count):
        extra: dict[str, object] = {}
        w = draw(weights)
        if w is not None:
            extra["weight"] = w
        if draw(st.booleans()):
            extra["precedence"] = draw(st.integers(-2, 2))
        if draw(st.booleans()):
            extra["headers"] = {"x-h": draw(st.sampled_from(["1", "2"]))}
        extra.update(draw(traffic))
        out.append(mapping(f"m{i}", draw(prefixes), f"svc{draw(st.integers(0, 3))}:80", **extra))
    return out


@settings(max_examples=40, deadline=None)
@given(mapping_sets(), st.randoms(use_true_random=False))
def test_output_does_not_depend_on_input_order(
    objects: list[RawObject], rnd: random.Random
) -> None:
    shuffled = list(objects)
    rnd.shuffle(shuffled)
    assert _serialized(objects) == _serialized(shuffled)


@settings(max_examples=30, deadline=None)
@given(mapping_sets(), mapping_sets())
def test_incremental_equals_full(first: list[RawObject], second: list[RawObject]) -> None:
    """Compiling A then A+B with one cache gives what a fresh compile of A+B gives."""
    renamed = [mapping("n" + o.doc["metadata"]["name"], **o.doc["spec"]) for o in second]
    cache = CompileCache()
    translator = Translator()
    options = CompileOptions()
    translator.translate(compile_config(first, options, cache).gateway)
    # keep half of the first set (same objects), add the second
    combined = first[: len(first) // 2] + renamed
    incremental = translator.translate(compile_config(combined, options, cache).gateway)
    full = translate(compile_config(combined, options).gateway)
    assert incremental.to_data() == full.to_data()


def test_unchanged_routes_are_reused() -> None:
    """A second compile with one changed Mapping translates only that route again."""
    objects = [mapping(f"m{i}", f"/p{i}/", "svc:80") for i in range(50)]
    cache = CompileCache()
    first = compile_config(objects, CompileOptions(), cache)
    objects[7] = mapping("m7", "/changed/", "svc:80")
    second = compile_config(objects, CompileOptions(), cache)
    before = {r.name: r for vh in first.gateway.route_configs[0].virtual_hosts for r in vh.routes}
    after = {r.name: r for vh in second.gateway.route_configs[0].virtual_hosts for r in vh.routes}
    reused = [name for name in after if name in before and after[name] is before[name]]
    assert len(reused) == 49


_POOL = [
    mapping(f"p{i}", f"/{'ab'[i % 2]}/{i % 5}/" * (1 + i % 3), f"svc{i % 3}:80",
            **({"hostname": "a.example.com"} if i % 4 == 0 else {}),
            **({"precedence": i % 3 - 1} if i % 7 == 0 else {}),
            **({"weight": 50} if i % 9 == 0 else {}))
    for i in range(40)
]  # fmt: skip
"""Mappings to draw from: a few hostnames, precedences and canary groups."""


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(range(len(_POOL))), unique=True), min_size=2))
def test_remembered_route_order_equals_sorting_afresh(steps: list[list[int]]) -> None:
    """The virtual hosts' order kept between compiles (OrderMemo: routes removed and
    inserted by bisection) is the order a fresh compile sorts."""
    cache = CompileCache()
    for step in steps:
        objects = [_POOL[i] for i in step]
        warm = compile_config(objects, CompileOptions(), cache).gateway.route_configs
        fresh = compile_config(objects, CompileOptions()).gateway.route_configs
        assert [[r.name for r in vh.routes] for rc in warm for vh in rc.virtual_hosts] == [
            [r.name for r in vh.routes] for rc in fresh for vh in rc.virtual_hosts
        ]


def test_memos_drop_gone_objects_once_they_outnumber_live_ones() -> None:
    """The memos keep their dict between compiles; entries of objects that went are
    dropped once they outnumber the live ones, and the output stays a fresh compile's."""
    cache = CompileCache()
    objects = [mapping(f"m{i}", f"/p{i}/", "svc:80") for i in range(10)]
    for step in range(110):  # each pass replaces every object: 1,100 gone in all
        objects = [mapping(f"m{i}", f"/p{i}/{step % 3}/", "svc:80") for i in range(10)]
        warm = compile_config(objects, CompileOptions(), cache)
    assert len(cache.parse._entries) <= 2 * len(objects) + 1024 + len(objects)
    assert len(cache._mappings) <= 2 * len(objects) + 1024 + len(objects)
    assert translate(warm.gateway).to_data() == _serialized_data(objects)


def _serialized_data(objects: list[RawObject]) -> dict[str, object]:
    return translate(compile_config(objects).gateway).to_data()


def test_item_memo_calls_f_only_for_new_objects() -> None:
    """ItemMemo: results of the very same objects are reused, in place or moved."""
    from legation.memo import ItemMemo, changes

    memo: ItemMemo[object, int] = ItemMemo()
    calls: list[object] = []

    def f(x: object) -> int:
        calls.append(x)
        return id(x)

    items = [object() for _ in range(200)]
    assert memo.map(items, f) == [id(x) for x in items]
    items[7] = object()
    calls.clear()
    assert memo.map(items, f) == [id(x) for x in items] and calls == [items[7]]
    items = [*items[::-1], object()]  # moved and added: found by id
    calls.clear()
    assert memo.map(items, f) == [id(x) for x in items] and calls == [items[-1]]
    calls.clear()
    assert memo.map(items, f, context="other") == [id(x) for x in items] and len(calls) == 201
    assert len(memo) == 201
    a, b, c = object(), object(), object()
    assert changes([a, b], [b, a]) == ([], [])
    assert changes([a, b], [a, c]) == ([b], [c])
    assert changes([a, b], [c]) == ([a, b], [c]) or changes([a, b], [c]) == ([b, a], [c])


_SPECS = st.fixed_dictionaries(
    {"prefix": st.sampled_from(["/a/", "/a/b/", "/b/", "/c/", "/a/b/c/"])},
    optional={
        "hostname": st.sampled_from(["a.example.com", "b.example.com", "*"]),
        "weight": st.integers(0, 100),
        "shadow": st.just(True),
        "host_redirect": st.just(True),
        "prefix_regex": st.just(True),
        "precedence": st.integers(-1, 1),
    },
)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.integers(0, 99), _SPECS), max_size=6), min_size=1, max_size=4)
)
def test_in_place_changes_equal_full(steps: list[list[tuple[int, dict[str, object]]]]) -> None:
    """Mappings replaced in place, removed and added among 100 (a matcher tree, canary
    groups, shadows, redirects, hostnames): the warm compile and translation (groups,
    virtual hosts and translator memos updated from the changes) equal fresh ones."""
    objects = [mapping(f"m{i}", f"/p{i}/", f"svc{i % 3}:80") for i in range(100)]
    cache, translator = CompileCache(), Translator()
    translator.translate(compile_config(objects, CompileOptions(), cache).gateway)
    for n, step in enumerate(steps):
        for index, spec in step:
            spec = dict(spec)
            objects[index] = mapping(f"m{index}", str(spec.pop("prefix")), "svc:80", **spec)
        if n % 2:  # also a removal and an addition: lists of another length
            objects = [*objects[1:], mapping(f"x{n}", f"/x{n}/", "svc:80")]
        warm = translator.translate(compile_config(objects, CompileOptions(), cache).gateway)
        full = translate(compile_config(objects).gateway)
        assert warm.to_data() == full.to_data()
        assert warm.route_versions == full.route_versions


def test_sorted_memo_equals_sorting_afresh() -> None:
    """SortedMemo: updated by bisection, the same list as sorted(); a tie sorts afresh."""
    from legation.memo import SortedMemo

    rnd = random.Random(3)
    memo: SortedMemo[tuple[int, str]] = SortedMemo(lambda item: item[0])
    items = [(rnd.randrange(10**6), "x") for _ in range(300)]
    for step in range(30):
        items[rnd.randrange(len(items))] = (rnd.randrange(10**6), str(step))
        if step % 5 == 0:
            items.append((rnd.randrange(10**6), "new"))
        if step % 7 == 0:
            items.append(items[0])  # an order tie
        assert memo.sorted(items) == sorted(items, key=lambda item: item[0])


def test_index_memo_equals_grouping_afresh() -> None:
    """IndexMemo: items replaced in place (same key or not), added: the fresh grouping."""
    from legation.memo import IndexMemo

    rnd = random.Random(5)
    memo: IndexMemo[tuple[str, int]] = IndexMemo(lambda item: item[0])
    items = [(rnd.choice("abc"), i) for i in range(300)]
    for step in range(30):
        items[rnd.randrange(len(items))] = (rnd.choice("abc" if step % 4 else "abd"), -step)
        if step % 6 == 0:
            items.append(("a", 1000 + step))
        fresh: dict[str, list[tuple[str, int]]] = {}
        for item in items:
            fresh.setdefault(item[0], []).append(item)
        assert memo.groups(items) == fresh
