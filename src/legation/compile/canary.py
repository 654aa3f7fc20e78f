"""Canary groups: Mappings with identical match criteria share a match and split its
traffic, one route per member."""

from __future__ import annotations

import dataclasses
import hashlib
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


def cumulative(shares: Sequence[int]) -> list[int]:
    """Each member's `runtime_fraction`: the running total of the shares, the last 100.

    Envoy draws one random value per request and tries the member routes in order, so
    member i takes the values from the total before it up to its own total: exactly its
    share (how Emissary splits a canary group, too).
    """
    out, total = [], 0
    for share in shares:  # split_weights' shares sum to 100
        total += share
        out.append(total)
    return out


def _member_name(group: str, key: str) -> str:
    """A member route's name: stable however the other members change."""
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"route-{group}-{digest}"


def build_routes(members: Sequence[CompiledMapping]) -> list[Route]:
    """The Envoy routes of one canary group: one per member, each with its own settings.

    A group of one is a plain route. In a group of several, every member keeps its own
    rewrite, host rewrite, timeout, headers and options, and its route's
    `runtime_fraction` gives it exactly its weight. Shadow members are not weighted:
    they become mirrors of every member's route. A redirect Mapping is always alone in
    its group (see redirect_groups.py) and answers without a target.
    """
    ordered = _primary_first([m for m in members if not m.shadow])
    shares = split_weights([m.weight for m in ordered])
    fractions: list[int | None] = [*cumulative(shares)] if len(ordered) > 1 else [None]
    weight = max(m.route_weight for m in ordered)
    # a shadow that redirects has no upstream (no cluster is made for it): never a mirror
    shadows = mirrors([m for m in members if m.shadow and m.options.redirect is None])
    routes = []
    for i, (m, share, fraction) in enumerate(zip(ordered, shares, fractions, strict=True)):
        target = dataclasses.replace(m.target, weight=share)
        routes.append(
            Route(
                name=f"route-{m.group_id}" if fraction is None else _member_name(m.group_id, m.key),
                hostname=m.hostname,
                match=m.match,
                precedence=m.precedence,
                targets=() if m.options.redirect is not None else (target,),
                source=m.resource.source,
                route_weight=weight,
                group=m.group_id,
                prefix_rewrite=m.prefix_rewrite,
                regex_rewrite=m.regex_rewrite,
                timeout_ms=m.timeout_ms,
                mappings=(m.key,),
                options=m.options,
                mirrors=shadows,
                runtime_fraction=fraction,
                member=i,
                stat_prefix=m.stat_prefix,
            )
        )
    return routes
