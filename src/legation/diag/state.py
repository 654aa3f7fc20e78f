"""What the diagnostics views read: a protocol the runtime implements.

Everything crosses as IR objects or plain data, so `diag` needs nothing from the
runtime, the model or Envoy's protobufs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from legation.ir.gateway import Gateway


@dataclass(frozen=True, slots=True)
class DiagSettings:
    """The ambassador Module's `diagnostics` block."""

    enabled: bool = True
    """False: the views answer loopback clients only, even with `allow_non_local`."""
    allow_non_local: bool = False
    """True (and enabled): the read-only views answer clients on any address."""


class DiagState(Protocol):
    """Read-only access to the gateway's current state (plus changing log levels)."""

    def alive(self) -> bool:
        """The process is healthy (its loop runs and Envoy is running or restarting)."""
        ...

    def ready(self) -> bool:
        """Envoy holds a configuration it accepted, and nothing newer is pending."""
        ...

    def overview(self) -> dict[str, Any]:
        """Everything the diagnostics overview shows, as plain data."""
        ...

    def settings(self) -> DiagSettings:
        """The diagnostics settings in force (from the ambassador Module)."""
        ...

    def gateway(self) -> Gateway | None:
        """The compiled IR in force, or None before the first configuration."""
        ...

    def routes(self) -> list[dict[str, Any]]:
        """The route table as plain data, in match order (as `legation routes --json`)."""
        ...

    def resource(self, key: str) -> dict[str, Any] | None:
        """One resource (`Kind/name.namespace`) as written, its problems and its output;
        None when no document with that key exists."""
        ...

    async def envoy_admin(self, path: str) -> tuple[int, str] | None:
        """GET `path` from Envoy's admin interface; None when Envoy cannot be asked."""
        ...

    def metrics(self) -> bytes:
        """The control plane's own metrics, Prometheus text format."""
        ...

    async def set_log_level(self, component: str, level: str) -> dict[str, str]:
        """Change the log level of `legation`, `envoy` or `all`; returns the new levels.

        Raises ValueError for an unknown component or level.
        """
        ...
