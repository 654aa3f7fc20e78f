"""What the diagnostics views read: a protocol the runtime implements."""

from __future__ import annotations

from typing import Any, Protocol


class DiagState(Protocol):
    """Read-only access to the gateway's current state."""

    def alive(self) -> bool:
        """The process is healthy (its loop runs and Envoy is running or restarting)."""
        ...

    def ready(self) -> bool:
        """Envoy has ACKed the current configuration."""
        ...

    def overview(self) -> dict[str, Any]:
        """Everything the diagnostics overview shows, as plain data."""
        ...
