"""Canary groups: Mappings with identical match criteria become one weighted route."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from legation.compile.mapping import CompiledMapping
from legation.compile.shadow import mirrors
from legation.ir.routes import Route


def split_weights(weights: Sequence[int | None]) -> list[int]:
    """Percentages for a group, summing to exactly 100.

    Explicit weights are kept; members without one share what is left equally. When
    the explicit weights exceed 100, or nothing is left for anyone, they are scaled.
    Rounding leftovers go to the earliest members, so the result is deterministic.
    """
    explicit = sum(w for w in weights if w is not None)
    unweighted = [i for i, w in enumerate(weights) if w is None]
    raw: list[float]
    if unweighted and explicit < 100:
        share = (100 - explicit) / len(unweighted)
        raw = [share if w is None else float(w) for w in weights]
    else:
        total = explicit or len(weights)
        raw = [(float(w) if w is not None and explicit else 1.0) * 100 / total for w in weights]
        if unweighted and explicit:
            raw = [0.0 if w is None else r for w, r in zip(weights, raw, strict=True)]
    result = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - result[i]), i))
    for i in order[: 100 - sum(result)]:
        result[i] += 1
    return result


def _primary_first(members: Sequence[CompiledMapping]) -> list[CompiledMapping]:
    """The group's primary (its unweighted Mapping, else the first by key) leads."""
    return sorted(members, key=lambda m: (m.weight is not None, m.key))


def build_route(members: Sequence[CompiledMapping]) -> Route:
    """One Envoy route for a canary group; route-level settings come from the primary.

    Shadow members are not weighted: they become mirrors of the route. A primary with
    a redirect makes the route answer with that redirect, without targets.
    """
    ordered = _primary_first([m for m in members if not m.shadow])
    primary = ordered[0]
    # a redirect has no upstream (no cluster is made for it): it is never a target
    upstreams = [m for m in ordered if m.options.redirect is None]
    weights = split_weights([m.weight for m in upstreams])
    targets = tuple(
        dataclasses.replace(m.target, weight=w) for m, w in zip(upstreams, weights, strict=True)
    )
    if primary.options.redirect is not None:
        targets = ()
    return Route(
        name=f"route-{primary.group_id}",
        hostname=primary.hostname,
        match=primary.match,
        precedence=primary.precedence,
        targets=targets,
        source=primary.resource.source,
        prefix_rewrite=primary.prefix_rewrite,
        regex_rewrite=primary.regex_rewrite,
        timeout_ms=primary.timeout_ms,
        mappings=tuple(m.key for m in ordered),
        options=primary.options,
        mirrors=mirrors([m for m in members if m.shadow and m.options.redirect is None]),
    )


class RouteMemo:
    """Reuses the Route of a group whose members are the very same objects as last time.

    Later stages cache by identity, so a reused Route is not translated again.
    """

    def __init__(self) -> None:
        self._routes: dict[tuple[int, ...], tuple[tuple[CompiledMapping, ...], Route]] = {}

    def routes(self, groups: Sequence[Sequence[CompiledMapping]]) -> list[Route]:
        """A Route per group, reusing unchanged ones."""
        fresh: dict[tuple[int, ...], tuple[tuple[CompiledMapping, ...], Route]] = {}
        out = []
        for members in groups:
            ident = (id(members[0]),) if len(members) == 1 else tuple(id(m) for m in members)
            hit = self._routes.get(ident)
            if hit is None or any(a is not b for a, b in zip(hit[0], members, strict=True)):
                hit = (tuple(members), build_route(members))
            fresh[ident] = hit
            out.append(hit[1])
        self._routes = fresh
        return out
