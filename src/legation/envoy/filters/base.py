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

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.extensions.access_loggers.filters.cel.v3 import cel_pb2
from google.protobuf import any_pb2

from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway, RouteChanges, RouteConfig
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route


def pack(message: Any) -> Any:
    """A message packed into a protobuf `Any`."""
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def cel_filter(expression: str) -> Any:
    """An access-log filter (as local-reply mappers use) passing what the CEL
    `expression` accepts."""
    return accesslog_pb2.AccessLogFilter(
        extension_filter=accesslog_pb2.ExtensionFilter(
            name="envoy.access_loggers.extension_filters.cel",
            typed_config=pack(cel_pb2.ExpressionFilter(expression=expression)),
        )
    )


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


class _HostUses:
    """One virtual host's routes by identity, each one's uses, and how many routes
    have each distinct tuple of uses."""

    def __init__(self) -> None:
        self.routes: tuple[Route, ...] = ()
        """The routes `uses` is keyed on (held, so their ids are not reused)."""
        self.uses: dict[int, Uses] = {}
        self.counts: dict[Uses, int] = {}

    def update(
        self,
        routes: tuple[Route, ...],
        find: Callable[[Route], Uses],
        hint: RouteChanges | None = None,
    ) -> None:
        """Follow the virtual host to `routes`: only routes that came or went are
        looked at (told by `hint` when it checks out, else found with dictionary and
        set operations)."""
        if routes is self.routes:
            return
        known = hint.since(self.routes, routes) if hint is not None else None
        uses = self.uses
        if known is not None and all(id(r) in uses for r in known.gone):
            for route in known.gone:
                self._count(uses.pop(id(route)), -1)
            for route in known.came:
                found = uses[id(route)] = find(route)
                self._count(found, 1)
            self.routes = routes
            return
        new = dict(zip(map(id, routes), routes, strict=True))  # not kept: memory
        for key in new.keys() ^ uses.keys():  # one set for both directions
            if key in uses:
                self._count(uses.pop(key), -1)
            else:
                found = uses[key] = find(new[key])
                self._count(found, 1)
        self.routes = routes

    def _count(self, uses: Uses, step: int) -> None:
        left = self.counts.get(uses, 0) + step
        if left:
            self.counts[uses] = left
        else:
            del self.counts[uses]


class RouteUseMemo:
    """Each route's `route_use` values, kept across translations by route identity.

    A change of one Mapping makes a few new Route objects among thousands: only those
    call the filters' `route_use`, and only per virtual host's difference to last
    time; the distinct tuples of uses are counted, so none is collected route by route.
    Kept per route configuration name.
    """

    def __init__(self) -> None:
        self._hosts: dict[str, dict[str, _HostUses]] = {}
        self._configs: dict[str, tuple[RouteConfig, RouteUses]] = {}

    def uses(self, config: RouteConfig) -> RouteUses:
        """The uses of `config`'s routes, found once per configuration object."""
        done = self._configs.get(config.name)
        if done is not None and done[0] is config:
            return done[1]
        filters = _scanning_filters()

        def find(route: Route) -> Uses:
            return tuple(f.route_use(route) for f in filters)

        old = self._hosts.get(config.name, {})
        hosts: dict[str, _HostUses] = {}
        distinct: set[Uses] = set()
        for vh in config.virtual_hosts:
            memo = hosts[vh.name] = old.get(vh.name) or _HostUses()
            memo.update(vh.routes, find, vh.changes)
            distinct.update(memo.counts)
        uses: RouteUses = {
            f.name: frozenset(v[i] for v in distinct if v[i] is not None)
            for i, f in enumerate(filters)
        }
        self._hosts[config.name] = hosts
        self._configs[config.name] = (config, uses)
        return uses

    def retain(self, names: set[str]) -> None:
        """Forget configurations that are gone."""
        for memo in (self._hosts, self._configs):
            for name in [n for n in memo if n not in names]:
                del memo[name]


def _scanning_filters() -> tuple[HttpFilter, ...]:
    """The filters of the chain that look at routes (override `route_use`)."""
    from legation.envoy.filters import HTTP_FILTERS  # the table imports this module

    return tuple(f for f in HTTP_FILTERS if type(f).route_use is not HttpFilter.route_use)
