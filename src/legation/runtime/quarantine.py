"""Keep one bad resource from blocking every later change.

Envoy takes a route table whole or not at all. If it rejects (NACKs) a configuration,
it keeps the last one it accepted, but every later push still contains the resource it
choked on, so no later change, good or not, would ever reach it. The quarantine
remembers which resources Envoy last accepted; when the current configuration is
rejected, the resources that changed since then are withheld (reported as errors on
those resources with Envoy's message) and the rest is pushed again. A withheld
resource is tried again as soon as its document changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from legation.compile.compiler import Withheld
from legation.model.raw import RawObject

log = logging.getLogger("legation")


class Quarantine:
    """Which resources Envoy accepted last, and which are withheld since it rejected them."""

    def __init__(self) -> None:
        self.withheld: dict[str, tuple[RawObject, str]] = {}
        self._current: dict[str, RawObject] = {}
        self._previous: dict[str, RawObject] | None = None
        self._accepted: dict[str, RawObject] | None = None
        self._handled: str | None = None

    def held(self) -> Withheld:
        """What the next build must leave out."""
        return self.withheld

    def built(self, resources: Iterable[Any]) -> None:
        """Record the resources (key → raw document) of the configuration just pushed.

        Withheld entries whose document changed are released: they get another try.
        """
        if self._current:
            self._previous = self._current
        self._current = {res.key: res.raw for res in resources}
        for key, (raw, _) in list(self.withheld.items()):
            if self._current.get(key) is not raw:
                del self.withheld[key]

    def observe(self, state: str, version: str, reason: str) -> bool:
        """Feed the Envoys' state for `version`; True when a rebuild should withhold more."""
        if state == "in sync":
            self._accepted = {k: v for k, v in self._current.items() if k not in self.withheld}
            return False
        # Envoy may ACK a configuration and get the next before "in sync" is seen here;
        # then the build before the rejected one is the best known baseline.
        baseline = self._accepted if self._accepted is not None else self._previous
        if state != "rejected" or version == self._handled or baseline is None:
            return False  # nothing accepted yet: nothing known good to fall back to
        self._handled = version
        suspects = {
            key: (raw, reason)
            for key, raw in self._current.items()
            if baseline.get(key) is not raw and key not in self.withheld
        }
        if not suspects:
            return False
        log.error(
            "Envoy rejected configuration %s (%s); withholding what changed since it last "
            "accepted one: %s",
            version,
            reason,
            ", ".join(sorted(suspects)),
        )
        self.withheld.update(suspects)
        return True
