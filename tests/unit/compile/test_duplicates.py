"""Duplicate resource keys: the first seen wins, and keeps winning."""

from __future__ import annotations

import dataclasses

from legation.compile.compiler import CompileCache, compile_config
from legation.model.raw import RawObject
from legation.model.yamldocs import parse_documents


def mapping(file: str, prefix: str, created: str = "", name: str = "m") -> RawObject:
    text = (
        "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        f"metadata: {{name: {name}}}\nspec: {{prefix: {prefix}, service: s}}\n"
    )
    (raw,), problems = parse_documents(text, file)
    assert not problems
    return dataclasses.replace(raw, created=created)


def live_prefixes(objects: list[RawObject], cache: CompileCache | None = None) -> list[str]:
    result = compile_config(objects, cache=cache)
    return [
        str(r.match.path.value)
        for rc in result.gateway.route_configs
        for vh in rc.virtual_hosts
        for r in vh.routes
    ]


def test_the_live_resource_keeps_winning_over_a_newcomer_sorting_first() -> None:
    cache = CompileCache()
    live = mapping("z.yaml", "/live/", "2026-01-02T00:00:00.000000000Z")
    assert live_prefixes([live], cache) == ["/live/"]
    # a newcomer with the same key, in a file that sorts first and even claims to be older
    newcomer = mapping("a.yaml", "/new/", "2026-01-01T00:00:00.000000000Z")
    result = compile_config([newcomer, live], cache=cache)
    assert [p.message for p in result.problems if "duplicate" in p.message] == [
        "duplicate of Mapping/m.default at z.yaml:1 (first seen wins); skipped"
    ]
    assert live_prefixes([newcomer, live], cache) == ["/live/"]


def test_fresh_start_picks_the_older_file_then_source_order() -> None:
    old = mapping("z.yaml", "/old/", "2026-01-01T00:00:00.000000000Z")
    new = mapping("a.yaml", "/new/", "2026-01-02T00:00:00.000000000Z")
    assert live_prefixes([new, old]) == ["/old/"]
    assert live_prefixes([old, new]) == ["/old/"]  # independent of input order
    same_a = mapping("a.yaml", "/a/", "2026-01-01T00:00:00.000000000Z")
    same_b = mapping("b.yaml", "/b/", "2026-01-01T00:00:00.000000000Z")
    assert live_prefixes([same_b, same_a]) == ["/a/"]


def test_kubernetes_creation_timestamp_orders_duplicates() -> None:
    def crd(ns_name: str, prefix: str, created: str) -> RawObject:
        doc = {
            "apiVersion": "getambassador.io/v3alpha1",
            "kind": "Mapping",
            "metadata": {"name": "m", "namespace": "default", "creationTimestamp": created},
            "spec": {"prefix": prefix, "service": "s"},
        }
        from legation.ir.provenance import Source

        return RawObject(doc=doc, source=Source(ns_name))

    early = crd("default/zz", "/early/", "2026-01-01T00:00:00Z")
    late = crd("default/aa", "/late/", "2026-02-01T00:00:00Z")
    assert live_prefixes([late, early]) == ["/early/"]


def test_winner_forgotten_when_it_goes_away() -> None:
    cache = CompileCache()
    a = mapping("a.yaml", "/a/", "2026-01-02T00:00:00.000000000Z")
    b = mapping("b.yaml", "/b/", "2026-01-01T00:00:00.000000000Z")
    assert live_prefixes([a], cache) == ["/a/"]
    assert live_prefixes([b], cache) == ["/b/"]  # a deleted: b is the only one
    assert live_prefixes([a, b], cache) == ["/b/"]  # a comes back: b was live
