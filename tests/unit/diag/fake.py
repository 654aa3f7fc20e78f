"""A DiagState over a folder compiled in-process, with canned Envoy admin answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from legation.compile.compiler import CompileOptions
from legation.diag.state import DiagSettings
from legation.ir.gateway import Gateway
from legation.runtime.inventory import Inventory
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.runtime.state import build_overview, route_info
from legation.sources.files import FolderReader


def write_config(folder: Path, files: dict[str, str]) -> Path:
    """Write `files` under `folder` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def clusters_json(healthy: dict[str, list[bool]]) -> str:
    """An admin `/clusters?format=json` body: per cluster, one host per flag."""
    statuses = []
    for name, flags in healthy.items():
        hosts = [
            {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 9000 + i}},
                "stats": [{"name": "rq_total", "value": "3"}, {"name": "rq_success", "value": "3"}],
                "health_status": {"eds_health_status": "HEALTHY"}
                if ok
                else {"failed_active_health_check": True, "eds_health_status": "HEALTHY"},
            }
            for i, ok in enumerate(flags)
        ]
        statuses.append({"name": name, "host_statuses": hosts})
    return json.dumps({"cluster_statuses": statuses})


class FakeState:
    """Implements DiagState over one build; `admin` maps path prefixes to answers."""

    def __init__(self, folder: Path, settings: DiagSettings | None = None) -> None:
        snapshot = FolderReader(folder).read()
        self.result: BuildResult = Pipeline(CompileOptions()).build(snapshot)
        self.diag_settings = settings or DiagSettings()
        self.admin: dict[str, tuple[int, str]] = {}
        self.levels = {"legation": "info", "envoy": "warning"}
        self.write_back = "none"
        """What GatewayRuntime.write_back_role() would say."""

    def alive(self) -> bool:
        return True

    def ready(self) -> bool:
        return True

    def overview(self) -> dict[str, Any]:
        data = build_overview(self.result)
        data.update(
            version="test",
            ambassador_id="default",
            config_version="v1",
            reconfigurations=1,
            envoy={"alive": True, "ready": True, "restarts": 0, "config_state": "in sync"},
            nodes=[],
            log_levels=dict(self.levels),
            write_back=self.write_back,
        )
        return data

    def settings(self) -> DiagSettings:
        return self.diag_settings

    def gateway(self) -> Gateway | None:
        return self.result.compiled.gateway

    def routes(self) -> list[dict[str, Any]]:
        return route_info(self.result.compiled.gateway)

    def resource(self, key: str) -> dict[str, Any] | None:
        return Inventory(self.result).detail(key)

    async def envoy_admin(self, path: str) -> tuple[int, str] | None:
        for prefix, answer in self.admin.items():
            if path.startswith(prefix):
                return answer
        return None

    def metrics(self) -> bytes:
        return b"# HELP legation_test a test\n# TYPE legation_test gauge\nlegation_test 1.0\n"

    async def set_log_level(self, component: str, level: str) -> dict[str, str]:
        if level not in ("debug", "info"):
            raise ValueError(f"unknown log level {level!r}")
        for name in ("legation", "envoy"):
            if component in (name, "all"):
                self.levels[name] = level
        return dict(self.levels)
