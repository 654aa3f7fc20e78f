"""Route order and virtual hosts, as Ambassador users expect them."""

from __future__ import annotations

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


def virtual_hosts(routes: Sequence[Route]) -> tuple[VirtualHost, ...]:
    """One virtual host per hostname; routes for every host (`*`) join each of them.

    Envoy picks exactly one virtual host per request, so a host-specific virtual host
    must also carry the routes that apply to all hosts, in the same overall order.
    """
    by_host: dict[str, list[Route]] = defaultdict(list)
    for route in routes:
        by_host[route.hostname].append(route)
    wildcard = order_routes(by_host.pop("*", []))
    out = []
    for hostname in sorted(by_host):
        name = "vh_" + _UNSAFE.sub("_", hostname)
        # the wildcard part is already sorted: timsort merges the two runs in linear time
        ordered = order_routes(order_routes(by_host[hostname]) + wildcard)
        out.append(VirtualHost(name, domains_for(hostname), tuple(ordered)))
    out.append(VirtualHost("vh_any", ("*",), tuple(wildcard)))
    return tuple(out)
