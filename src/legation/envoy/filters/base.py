"""The interface every HTTP filter module implements."""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2

from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route


def pack(message: Any) -> Any:
    """A message packed into a protobuf `Any`."""
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class HttpFilter:
    """One Envoy HTTP filter: what it adds to a listener's chain, and to each route.

    Subclasses override the hooks they need; the defaults do nothing.
    """

    name: str = ""
    """Envoy's filter name, also the key of its per-route config."""

    def listener_filter(self, listener: HttpConnectionManager) -> Any | None:
        """The filter's typed config for this listener, or None to leave it out."""
        return None

    def patch_route(self, route: Route, out: Any) -> None:
        """Add per-route settings (e.g. `typed_per_filter_config`) to the Envoy route."""
        return None
