"""The interface every HTTP filter module implements (its hooks), and what they see.

A filter is one object in `HTTP_FILTERS` (the chain's order). The translator calls its
hooks at fixed points; every hook has a default that does nothing:

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
from dataclasses import dataclass
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

    def routes(self) -> Iterator[Route]:
        """Every route of the listener's route configuration."""
        if self.route_config is None:
            return
        for vh in self.route_config.virtual_hosts:
            yield from vh.routes


EMPTY_GATEWAY = Gateway(listeners=(), route_configs=(), clusters=())
"""A gateway with nothing in it: the context of a connection manager translated alone."""


class HttpFilter:
    """One Envoy HTTP filter and its hooks; subclasses override the ones they need."""

    name: str = ""
    """Envoy's filter name, also the key of its per-route config."""

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
