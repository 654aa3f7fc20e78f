"""Route order and virtual hosts, as Ambassador users expect them."""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections import defaultdict
from collections.abc import Sequence

from legation.ir.gateway import VirtualHost
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
            self._hosts[name] = ascending
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
        del self._hosts[name]  # `ascending` is changed in place: gone unless finished
        changed = now.keys() ^ before.keys()
        if len(changed) > 64:  # many changes: sorting afresh is as cheap
            return None
        for key in changed:
            if key in before:
                route = before[key]
                at = bisect.bisect_left(ascending, route.order, key=_ORDER)
                if at == len(ascending) or ascending[at] is not route:
                    return None  # not where it should be: leave it to sorting
                del ascending[at]
        for key in changed:
            if key not in before:
                route = now[key]
                at = bisect.bisect_left(ascending, route.order, key=_ORDER)
                if at < len(ascending) and ascending[at].order == route.order:
                    return None  # two routes with one order: leave it to sorted()
                ascending.insert(at, route)
        return ascending

    def retain(self, names: set[str]) -> None:
        """Forget virtual hosts that are gone."""
        self._hosts = {n: v for n, v in self._hosts.items() if n in names}
