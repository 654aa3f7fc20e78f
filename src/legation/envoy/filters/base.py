"""The interface every HTTP filter module implements (its hooks), and what they see.

A filter is one object in `HTTP_FILTERS` (the chain's order). The translator calls its
hooks at fixed points; every hook has a default that does nothing:

- `route_use(route)`: what one route asks of the filter (a hashable value), or None;
  `ctx.uses(filter)` is the set of every route's value, found in one memoised pass over
  the listener's routes for all filters together (so `needed` need not walk them).
- `needed(listener, ctx)`: is the filter in this listener's chain at all (e.g. only where
  some route of the listener uses it)? Then `listener_filter(listener, ctx)` gives its
  typed config (None leaves it out too).
- `patch_connection_manager(listener, hcm, ctx)`: change the HttpConnectionManager.
- `route_state(gateway)`: the gateway-level value (hashable) that the filter's
  per-route and per-virtual-host output depends on besides the route itself. It is part
  of the route translation cache's key, and the only outside value `patch_route` and
  `patch_virtual_host` are given, so a route's bytes cannot depend on anything else.
- `patch_virtual_host(vh, out, state)` and `patch_route(route, out, state)`: per-vhost /
  per-route settings (`typed_per_filter_config`); a route is patched after its action
  is final.
- `extra_resources(gateway)`: Envoy resources the filter needs (e.g. the cluster of an
  auth service), added to the translated output.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import any_pb2

from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway, RouteConfig
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route


def pack(message: Any) -> Any:
    """A message packed into a protobuf `Any`."""
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


@dataclass(frozen=True, slots=True)
class FilterContext:
    """What a listener-level hook may read besides its connection manager."""

    gateway: Gateway
    route_config: RouteConfig | None
    """The route configuration the connection manager uses (None if there is none)."""
    scan: RouteUseMemo | None = field(default=None, compare=False)
    """Remembers each route's uses across translations (None: found afresh)."""

    def routes(self) -> Iterator[Route]:
        """Every route of the listener's route configuration."""
        if self.route_config is None:
            return
        for vh in self.route_config.virtual_hosts:
            yield from vh.routes

    def uses(self, f: HttpFilter) -> frozenset[Hashable]:
        """Every value `f.route_use` gives for a route of this listener (None left out)."""
        if self.route_config is None:
            return frozenset()
        scan = self.scan if self.scan is not None else RouteUseMemo()
        return scan.uses(self.route_config).get(f.name, frozenset())


EMPTY_GATEWAY = Gateway(listeners=(), route_configs=(), clusters=())
"""A gateway with nothing in it: the context of a connection manager translated alone."""


class HttpFilter:
    """One Envoy HTTP filter and its hooks; subclasses override the ones they need."""

    name: str = ""
    """Envoy's filter name, also the key of its per-route config."""

    def route_use(self, route: Route) -> Hashable | None:
        """What this route asks of the filter, as `ctx.uses` collects it (by default:
        nothing). It may read only the route: the value is remembered per route."""
        return None

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Whether the listener's chain has this filter (by default: always)."""
        return True

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The filter's typed config for this listener, or None to leave it out."""
        return None

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """Change the listener's Envoy HttpConnectionManager (after it is built)."""
        return None

    def route_state(self, gateway: Gateway) -> Hashable:
        """The gateway-level value this filter's route and virtual host output reads."""
        return None

    def patch_virtual_host(self, vh: Any, out: Any, state: Any) -> None:
        """Add settings to an Envoy VirtualHost `out` (it holds only what filters add)."""
        return None

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """Add per-route settings (e.g. `typed_per_filter_config`) to the Envoy route."""
        return None

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        """Envoy resources this filter needs, added to the translated output."""
        return NO_RESOURCES


NO_RESOURCES = XdsResources()
"""No extra resources."""


Uses = tuple[Hashable | None, ...]
"""One route's `route_use` values, in the order of the filters that look at routes."""

RouteUses = dict[str, frozenset[Hashable]]
"""Filter name → the distinct non-None `route_use` values of a configuration's routes."""


class RouteUseMemo:
    """Each route's `route_use` values, kept across translations by route identity.

    A change of one Mapping makes a few new Route objects among thousands: only those
    call the filters' `route_use`; the others are one dictionary look-up each. Kept per
    route configuration name, and pruned to that configuration's current routes.
    """

    def __init__(self) -> None:
        self._routes: dict[str, dict[int, tuple[Route, Uses]]] = {}
        self._configs: dict[str, tuple[RouteConfig, RouteUses]] = {}
        self._interned: dict[Uses, Uses] = {}
        """One object per distinct tuple of uses, so a pass collects them by identity
        (hashing the values themselves, label dataclasses among them, is slow)."""

    def uses(self, config: RouteConfig) -> RouteUses:
        """The uses of `config`'s routes, found once per configuration object."""
        done = self._configs.get(config.name)
        if done is not None and done[0] is config:
            return done[1]
        filters = _scanning_filters()
        old = self._routes.get(config.name, {})
        new: dict[int, tuple[Route, Uses]] = {}
        distinct: dict[int, Uses] = {}
        for vh in config.virtual_hosts:
            for route in vh.routes:
                key = id(route)
                hit = old.get(key)
                if hit is None or hit[0] is not route:
                    found = tuple(f.route_use(route) for f in filters)
                    hit = (route, self._interned.setdefault(found, found))
                new[key] = hit
                distinct[id(hit[1])] = hit[1]
        uses: RouteUses = {
            f.name: frozenset(v[i] for v in distinct.values() if v[i] is not None)
            for i, f in enumerate(filters)
        }
        self._routes[config.name] = new
        self._configs[config.name] = (config, uses)
        return uses

    def retain(self, names: set[str]) -> None:
        """Forget configurations that are gone (and, now and then, unused tuples)."""
        for memo in (self._routes, self._configs):
            for name in [n for n in memo if n not in names]:
                del memo[name]
        if len(self._interned) > 4096:  # distinct label sets pile up over many edits
            live = {id(u) for routes in self._routes.values() for _, u in routes.values()}
            self._interned = {u: u for u in self._interned if id(u) in live}


def _scanning_filters() -> tuple[HttpFilter, ...]:
    """The filters of the chain that look at routes (override `route_use`)."""
    from legation.envoy.filters import HTTP_FILTERS  # the table imports this module

    return tuple(f for f in HTTP_FILTERS if type(f).route_use is not HttpFilter.route_use)
