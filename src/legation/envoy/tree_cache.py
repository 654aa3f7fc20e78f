"""One virtual host's matcher tree, kept between translations and updated in place.

`plan_tree` looks at every route; with 10,000 routes that is most of the cost of a
one-Mapping change. A changed route can only alter the candidate lists of its own key
and of the keys it prefixes, and those keys sit together in sorted order. So when a
few keyed routes come and go, only those keys' lists and serialized entries are
rebuilt; anything else (a regex route changing, many changes) rebuilds the plan.
"""

from __future__ import annotations

import bisect
import hashlib
import operator
from collections.abc import Callable, Sequence

from legation.envoy.matcher import (
    Chunks,
    TreePlan,
    entry_bytes,
    plan_tree,
    route_list_action,
    tree_chunks,
)
from legation.ir.gateway import RouteChanges
from legation.ir.routes import PathKind, Route
from legation.memo import changes

MAX_INCREMENTAL_CHANGES = 64
"""Beyond this many added or removed routes, rebuilding the plan is as cheap."""

_ORDER = operator.attrgetter("order")


def _key_of(route: Route) -> str | None:
    path = route.match.path
    if path.kind is PathKind.REGEX or not path.case_sensitive:
        return None
    return path.value


class TreeCache:
    """Plan and entry bytes of one virtual host's tree, valid for `self.routes`."""

    def __init__(self) -> None:
        self.routes: tuple[Route, ...] = ()
        self._by_key: dict[str, list[Route]] = {}
        self._unkeyed: tuple[Route, ...] = ()
        self._keys: list[str] = []
        self._keyed: dict[str, tuple[Route, ...]] = {}
        self._entries: list[bytes] = []
        """The serialized entry of each key, in the order of `_keys`."""
        self._digests: list[bytes] = []
        """A hash of each entry (same order): the tree's digest hashes these, not 10 MB."""
        self._size = 0
        """The entries' total length."""

    def plan(self) -> TreePlan:
        """The current plan (what `plan_tree(self.routes)` returns)."""
        return TreePlan({k: self._keyed[k] for k in self._keys}, self._unkeyed)

    def matcher_bytes(
        self, routes: tuple[Route, ...], route_bytes: Callable[[Route], bytes]
    ) -> bytes:
        """The serialized matcher for `routes` (in match order), updating the cache."""
        return self.matcher_chunks(routes, route_bytes)[0].join()

    def matcher_chunks(
        self,
        routes: tuple[Route, ...],
        route_bytes: Callable[[Route], bytes],
        hint: RouteChanges | None = None,
    ) -> tuple[Chunks, bytes]:
        """The serialized matcher for `routes` (in match order), unjoined, and a digest
        of its content (from the entries' digests); updates the cache. `hint`: how
        `routes` came from the last ones (checked before use)."""
        dirty = self._update(routes, hint)
        if dirty is None:
            plan = plan_tree(routes)
            self._keyed = dict(plan.keyed)
            self._keys = sorted(plan.keyed)
            self._unkeyed = plan.fallback
            self._by_key = {}
            for route in routes:
                key = _key_of(route)
                if key is not None:
                    self._by_key.setdefault(key, []).append(route)
            self._entries, self._digests = [b""] * len(self._keys), [b""] * len(self._keys)
            self._size = 0
            dirty = set(self._keys)
        self.routes = routes
        for key in dirty:
            if key in self._keyed:
                at = bisect.bisect_left(self._keys, key)
                data = entry_bytes(key, self._keyed[key], route_bytes)
                self._size += len(data) - len(self._entries[at])
                self._entries[at] = data
                self._digests[at] = hashlib.blake2b(data, digest_size=16).digest()
        fallback = route_list_action(self._unkeyed, route_bytes) if self._unkeyed else b""
        digest = hashlib.blake2b(b"".join(self._digests))
        digest.update(fallback)  # with the entries, all the tree is made of
        return tree_chunks(self._entries, self._size, fallback), digest.digest()

    def _update(self, routes: tuple[Route, ...], hint: RouteChanges | None) -> set[str] | None:
        """Apply the difference to the plan in place; the keys to re-serialize, or None
        when the plan must be rebuilt from scratch."""
        if not self.routes:
            return None
        if routes is self.routes:
            return set()
        known = hint.since(self.routes, routes) if hint is not None else None
        if known is not None:  # the compiler said what changed: no lists compared
            removed, added = list(known.gone), list(known.came)
        else:
            removed, added = changes(self.routes, routes)
        if len(removed) + len(added) > MAX_INCREMENTAL_CHANGES:
            return None
        changed_keys: set[str] = set()
        for route in (*removed, *added):
            key = _key_of(route)
            if key is None:
                return None  # regex / case-insensitive routes join every list
            changed_keys.add(key)
        for route in removed:
            key = _key_of(route)
            assert key is not None
            members = self._by_key[key]
            members.remove(route)
            if not members:
                del self._by_key[key]
                at = bisect.bisect_left(self._keys, key)
                self._size -= len(self._entries[at])
                del self._keys[at], self._entries[at], self._digests[at]
                del self._keyed[key]
        for route in added:
            key = _key_of(route)
            assert key is not None
            if key not in self._by_key:
                self._by_key[key] = []
                at = bisect.bisect_left(self._keys, key)
                self._keys.insert(at, key)
                self._entries.insert(at, b"")  # filled in as a dirty key
                self._digests.insert(at, b"")
            members = self._by_key[key]
            members.append(route)
            members.sort(key=_ORDER, reverse=True)
        dirty: set[str] = set(changed_keys)
        for key in changed_keys:
            start = bisect.bisect_left(self._keys, key)
            for other in self._keys[start:]:
                if not other.startswith(key):
                    break
                dirty.add(other)
        for key in dirty:
            if key in self._by_key:
                self._keyed[key] = self._candidates(key)
        return dirty

    def _candidates(self, key: str) -> tuple[Route, ...]:
        """Routes whose key prefixes `key`, plus the unkeyed ones, in match order."""
        found = [r for n in range(1, len(key) + 1) for r in self._by_key.get(key[:n], ())]
        found.extend(self._unkeyed)
        found.sort(key=_ORDER, reverse=True)
        return tuple(found)


def plans_equal(a: TreePlan, b: TreePlan) -> bool:
    """Two plans choose alike (same keys, same candidate objects in the same order)."""

    def same(x: Sequence[Route], y: Sequence[Route]) -> bool:
        return len(x) == len(y) and all(p is q for p, q in zip(x, y, strict=True))

    return (
        a.keyed.keys() == b.keyed.keys()
        and all(same(a.keyed[k], b.keyed[k]) for k in a.keyed)
        and same(a.fallback, b.fallback)
    )
