"""Route order and virtual hosts, as Ambassador users expect them."""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from legation.ir.gateway import RouteChanges, VirtualHost
from legation.ir.routes import Route

_UNSAFE = re.compile(r"[^A-Za-z0-9_.*-]")


_ORDER = operator.attrgetter("order")


def order_routes(routes: Sequence[Route]) -> list[Route]:
    """Sort routes as Emissary does: highest route weight first (see `Route.sort_key`).

    Uses each route's precomputed `order` (what `Route.sort_key` returns).
    """
    return sorted(routes, key=_ORDER, reverse=True)


def domains_for(hostname: str) -> tuple[str, ...]:
    """Envoy virtual-host domains for a hostname glob, with and without a port."""
    if hostname == "*":
        return ("*",)
    if hostname.startswith("*"):
        return (hostname,)
    return (hostname, f"{hostname}:*")


def virtual_hosts(
    routes: Sequence[Route], memo: OrderMemo | None = None
) -> tuple[VirtualHost, ...]:
    """One virtual host per hostname; routes for every host (`*`) join each of them.

    Envoy picks exactly one virtual host per request, so a host-specific virtual host
    must also carry the routes that apply to all hosts, in the same overall order.
    `memo` (optional) keeps each virtual host's order from the last call.
    """
    by_host: dict[str, list[Route]] = defaultdict(list)
    for route in routes:
        by_host[route.hostname].append(route)
    wildcard = by_host.pop("*", [])
    out = []
    if memo is None:
        wildcard = order_routes(wildcard)
    for hostname in sorted(by_host):
        name = "vh_" + _UNSAFE.sub("_", hostname)
        if memo is not None:
            ordered = memo.order(name, by_host[hostname] + wildcard)
        else:  # the wildcard part is sorted: timsort merges the two runs in linear time
            ordered = order_routes(order_routes(by_host[hostname]) + wildcard)
        out.append(VirtualHost(name, domains_for(hostname), tuple(ordered)))
    if memo is not None:
        wildcard = memo.order("vh_any", wildcard)
        memo.retain({vh.name for vh in out} | {"vh_any"})
    out.append(VirtualHost("vh_any", ("*",), tuple(wildcard)))
    return tuple(out)


class OrderMemo:
    """Each virtual host's routes in order, kept between compiles and updated in place.

    With 10,000 Mappings, sorting every virtual host's routes again is a large part of
    a one-Mapping change. The order is total (a route's `order` ends in its group id and
    member, unique per route), so the sorted list does not depend on the input order:
    removing the routes that went and inserting those that came (found by identity,
    placed by bisection) gives exactly what sorting afresh gives.
    """

    def __init__(self) -> None:
        self._hosts: dict[str, list[Route]] = {}
        """Virtual host name → its routes in ascending order (the list holds them, so
        their ids are not reused while they are here)."""

    def order(self, name: str, routes: list[Route]) -> list[Route]:
        """`routes` sorted as `order_routes` sorts them."""
        now = dict(zip(map(id, routes), routes, strict=True))
        ascending = self._update(name, now) if len(now) == len(routes) else None
        if ascending is not None:
            return ascending[::-1]
        # first time, many changes, a repeated route or an order tie: sort afresh, and
        # remember the order only when it is total (then it is the same either way)
        self._hosts.pop(name, None)
        ordered = order_routes(routes)
        if len(now) == len(routes) and all(
            a.order != b.order for a, b in itertools.pairwise(ordered)
        ):
            self._hosts[name] = ordered[::-1]
        return ordered

    def _update(self, name: str, now: dict[int, Route]) -> list[Route] | None:
        ascending = self._hosts.get(name)
        if ascending is None:
            return None
        before = dict(zip(map(id, ascending), ascending, strict=True))  # not kept: memory
        changed = now.keys() ^ before.keys()
        if len(changed) > 64:  # many changes: sorting afresh is as cheap
            del self._hosts[name]
            return None
        gone = [before[k] for k in changed if k in before]
        return self.apply(name, gone, [now[k] for k in changed if k not in before])

    def apply(self, name: str, gone: Sequence[Route], came: Sequence[Route]) -> list[Route] | None:
        """The virtual host's routes in ascending order after removing `gone` and
        inserting `came` (kept for next time); None when there is no order to update
        (not remembered, many changes, a route not where it should be, an order tie)."""
        ascending = self._hosts.pop(name, None)  # changed in place: gone unless finished
        if ascending is None or len(gone) + len(came) > 64:
            return None
        for route in gone:
            at = bisect.bisect_left(ascending, route.order, key=_ORDER)
            if at == len(ascending) or ascending[at] is not route:
                return None  # not where it should be: leave it to sorting
            del ascending[at]
        for route in came:
            at = bisect.bisect_left(ascending, route.order, key=_ORDER)
            if at < len(ascending) and ascending[at].order == route.order:
                return None  # two routes with one order: leave it to sorted()
            ascending.insert(at, route)
        self._hosts[name] = ascending
        return ascending

    def retain(self, names: set[str]) -> None:
        """Forget virtual hosts that are gone."""
        self._hosts = {n: v for n, v in self._hosts.items() if n in names}


class VirtualHostMemo:
    """What `virtual_hosts(routes)` gives, kept between compiles and updated from the
    routes that went and came, without looking at the others.

    Each virtual host (one per hostname, plus `vh_any`) takes the changes for its
    hostname and `*`, applied by bisection (`OrderMemo.apply`), and carries them on as
    a `RouteChanges` hint for the translator's memos.
    """

    def __init__(self) -> None:
        self._order = OrderMemo()
        self._generation = -1
        self._counts: dict[str, int] = {}
        """Routes per hostname: which virtual hosts there are."""
        self._hosts: dict[str, VirtualHost] = {}

    def virtual_hosts(
        self,
        generation: int,
        gone: Sequence[Route],
        came: Sequence[Route],
        routes: Callable[[], Sequence[Route]],
    ) -> tuple[VirtualHost, ...]:
        """The virtual hosts of `routes()`, which `gone` and `came` lead to from the
        routes of `generation - 1` (when that is not the last one seen: from scratch)."""
        if generation != self._generation + 1:
            self._order, self._hosts = OrderMemo(), {}
            self._counts = dict(Counter(r.hostname for r in routes()))
        else:
            for step, changed in ((-1, gone), (1, came)):
                for route in changed:
                    self._counts[route.hostname] = self._counts.get(route.hostname, 0) + step
            self._counts = {h: n for h, n in self._counts.items() if n}
        self._generation = generation
        hostnames = sorted(h for h in self._counts if h != "*")
        names = ["vh_" + _UNSAFE.sub("_", h) for h in hostnames]
        if len(set(names)) < len(names) or "vh_any" in names:  # names that clash
            self._generation = -1
            return virtual_hosts(routes())
        out = [
            self._host(name, domains_for(hostname), (hostname, "*"), gone, came, routes)
            for name, hostname in zip(names, hostnames, strict=True)
        ]
        out.append(self._host("vh_any", ("*",), ("*",), gone, came, routes))
        self._hosts = {vh.name: vh for vh in out}
        self._order.retain(set(self._hosts))
        return tuple(out)

    def _host(
        self,
        name: str,
        domains: tuple[str, ...],
        hostnames: tuple[str, ...],
        gone: Sequence[Route],
        came: Sequence[Route],
        routes: Callable[[], Sequence[Route]],
    ) -> VirtualHost:
        """One virtual host: the routes for `hostnames`, updated when it existed."""
        previous = self._hosts.get(name)
        if previous is not None:
            left = tuple(r for r in gone if r.hostname in hostnames)
            added = tuple(r for r in came if r.hostname in hostnames)
            if not left and not added:
                return previous
            ascending = self._order.apply(name, left, added)
            if ascending is not None:
                now = tuple(reversed(ascending))
                hint = RouteChanges(previous.routes, now, left, added)
                return VirtualHost(name, domains, now, changes=hint)
        ordered = self._order.order(name, [r for r in routes() if r.hostname in hostnames])
        return VirtualHost(name, domains, tuple(ordered))
