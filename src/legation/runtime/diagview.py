"""The running gateway as the diagnostics app sees it (implements `DiagState`)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from legation.compile.module import module_settings
from legation.diag.state import DiagSettings
from legation.ir.gateway import Gateway
from legation.runtime.inventory import Inventory
from legation.runtime.loglevels import LogLevels
from legation.runtime.metrics import ControlPlaneMetrics
from legation.runtime.state import config_state, route_info

if TYPE_CHECKING:
    from legation.runtime.gateway import GatewayRuntime


class GatewayDiag:
    """Read-only views of a `GatewayRuntime`, plus its metrics and log levels."""

    def __init__(self, runtime: GatewayRuntime, metrics: ControlPlaneMetrics) -> None:
        """Views over `runtime`; `metrics` renders the control plane's own series."""
        self._runtime = runtime
        self._metrics = metrics
        self.log_levels = LogLevels(runtime.options.envoy_log_level, self._envoy_post)
        self._inventory: Inventory | None = None
        self._settings: tuple[object, DiagSettings] | None = None

    # --- probes -------------------------------------------------------------------
    def alive(self) -> bool:
        """See `GatewayRuntime.alive`."""
        return self._runtime.alive()

    def ready(self) -> bool:
        """See `GatewayRuntime.ready`."""
        return self._runtime.ready()

    # --- views --------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        """The runtime's overview, plus the xDS state in words and the log levels."""
        data = self._runtime.overview()
        data["envoy"]["config_state"] = config_state(
            self._runtime.cache.nodes(), self._runtime.version
        )
        data["log_levels"] = self.log_levels.as_dict()
        return data

    def settings(self) -> DiagSettings:
        """The `diagnostics` block of the ambassador Module in force."""
        last = self._runtime.last
        if last is None:
            return DiagSettings()
        if self._settings is None or self._settings[0] is not last:
            modules = [r for r in last.compiled.resources if r.kind == "Module"]
            diagnostics = module_settings(modules)[0].diagnostics
            found = (
                DiagSettings(diagnostics.enabled, diagnostics.allow_non_local)
                if diagnostics is not None
                else DiagSettings()
            )
            self._settings = (last, found)
        return self._settings[1]

    def gateway(self) -> Gateway | None:
        """The IR in force."""
        last = self._runtime.last
        return last.compiled.gateway if last is not None else None

    def routes(self) -> list[dict[str, Any]]:
        """The route table, as `legation routes --json` prints it."""
        gateway = self.gateway()
        return route_info(gateway) if gateway is not None else []

    def resource(self, key: str) -> dict[str, Any] | None:
        """One resource's detail (see `Inventory.detail`)."""
        last = self._runtime.last
        if last is None:
            return None
        if self._inventory is None or self._inventory.result is not last:
            self._inventory = Inventory(last)
        return self._inventory.detail(key)

    # --- Envoy, metrics, log levels -----------------------------------------------
    async def envoy_admin(self, path: str) -> tuple[int, str] | None:
        """GET from Envoy's admin interface; None when Envoy is down or silent."""
        envoy = self._runtime.envoy
        if envoy is None or not envoy.alive:
            return None
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            return await envoy.admin_get(path)
        return None

    async def _envoy_post(self, path: str) -> tuple[int, str] | None:
        envoy = self._runtime.envoy
        if envoy is None or not envoy.alive:
            return None
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            return await envoy.admin_request("POST", path)
        return None

    def metrics(self) -> bytes:
        """The control plane's metrics (Prometheus text)."""
        return self._metrics.render()

    async def set_log_level(self, component: str, level: str) -> dict[str, str]:
        """Change legation's and/or Envoy's log level."""
        return await self.log_levels.set(component, level)
