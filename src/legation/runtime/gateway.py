"""`legation run`: the long-running gateway — folder watch, xDS server, Envoy, diagnostics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from legation import __version__
from legation.compile.compiler import CompileOptions
from legation.diag.app import build_app
from legation.envoy.bootstrap import build_bootstrap
from legation.envoy.process import EnvoyProcess
from legation.ir.errors import ConfigProblem
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.runtime.state import build_overview
from legation.sources.files import FolderReader, watch_folder
from legation.xds.cache import XdsCache
from legation.xds.server import XdsServer

log = logging.getLogger("legation")

ENVOY_DOWN_LIMIT_S = 30.0
"""How long Envoy may stay down before the liveness probe fails."""


@dataclass(frozen=True)
class RunOptions:
    """Everything `legation run` can be told."""

    config_dir: Path
    http_port: int = 8080
    diag_port: int = 8877
    admin_port: int = 8001
    xds_port: int = 18000
    ambassador_id: str = "default"
    diag_host: str = "0.0.0.0"
    xds_delta: bool = False
    envoy_log_level: str = "warning"
    envoy_concurrency: int | None = None
    drain_seconds: float = 5.0
    debounce_ms: int = 50
    route_matcher: str = "auto"


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to legation."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return


class GatewayRuntime:
    """Owns all I/O of a running gateway and wires the pure stages together."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.cache = XdsCache()
        self.reader = FolderReader(options.config_dir)
        self.pipeline = Pipeline(
            CompileOptions(ambassador_id=options.ambassador_id, http_port=options.http_port),
            route_matcher=options.route_matcher,
        )
        self.last: BuildResult | None = None
        self.version = ""
        self.envoy: EnvoyProcess | None = None
        self.reconfigurations = 0
        self._stop = asyncio.Event()
        self._known_problems: set[ConfigProblem] = set()
        self._envoy_down_since: float | None = None

    # --- the pipeline -------------------------------------------------------------
    def apply(self) -> None:
        """Read the folder, compile, translate and publish; keep the last result on failure."""
        started = time.perf_counter()
        try:
            result = self.pipeline.build(self.reader.read())
        except Exception:  # a bug must not take the gateway down
            log.exception("configuration build failed; keeping the last good configuration")
            return
        self._report(result.problems)
        self.version = self.cache.set_resources(result.resources.by_type_url())
        self.last = result
        self.reconfigurations += 1
        log.info(
            "configuration %s: %d route(s), %d cluster(s), %d error(s) in %.1f ms",
            self.version,
            sum(
                len(vh.routes)
                for rc in result.compiled.gateway.route_configs
                for vh in rc.virtual_hosts
            ),
            len(result.compiled.gateway.clusters),
            len(result.errors),
            (time.perf_counter() - started) * 1000,
        )

    def _report(self, problems: tuple[ConfigProblem, ...]) -> None:
        """Log problems once, when they first appear."""
        current = set(problems)
        for problem in sorted(current - self._known_problems, key=lambda p: p.describe()):
            level = logging.ERROR if problem.severity.value == "error" else logging.INFO
            log.log(level, "%s", problem.describe())
        self._known_problems = current

    # --- diagnostics state --------------------------------------------------------
    def alive(self) -> bool:
        """Healthy unless Envoy has been down longer than `ENVOY_DOWN_LIMIT_S`.

        A crashed Envoy is restarted by the supervisor within seconds; one that stays
        down means something is badly wrong, and the kubelet should restart the pod.
        """
        if self.envoy is None or self.envoy.alive:
            self._envoy_down_since = None
            return True
        now = time.monotonic()
        if self._envoy_down_since is None:
            self._envoy_down_since = now
        return now - self._envoy_down_since < ENVOY_DOWN_LIMIT_S

    def ready(self) -> bool:
        """Ready once a connected Envoy has ACKed the current configuration."""
        return (
            self.last is not None
            and self.envoy is not None
            and self.envoy.alive
            and self.cache.acked_everywhere(self.version)
        )

    def overview(self) -> dict[str, Any]:
        """Data for the diagnostics overview."""
        data = build_overview(self.last)
        data.update(
            {
                "version": __version__,
                "ambassador_id": self.options.ambassador_id,
                "config_version": self.version,
                "reconfigurations": self.reconfigurations,
                "envoy": {
                    "alive": bool(self.envoy and self.envoy.alive),
                    "ready": self.ready(),
                    "restarts": self.envoy.restarts if self.envoy else 0,
                },
                "nodes": [node_data(n) for n in self.cache.nodes()],
            }
        )
        return data

    # --- lifecycle ----------------------------------------------------------------
    async def run(self) -> None:
        """Run until SIGTERM/SIGINT, then drain Envoy and stop everything cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        opts = self.options
        self.apply()
        server = XdsServer(self.cache, "127.0.0.1", opts.xds_port)
        await server.start()
        diag = _QuietServer(
            uvicorn.Config(
                build_app(self),
                host=opts.diag_host,
                port=opts.diag_port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        diag_task = asyncio.create_task(diag.serve(), name="diag")
        with tempfile.TemporaryDirectory(prefix="legation-") as workdir:
            bootstrap = build_bootstrap(
                node_id=f"legation-{opts.ambassador_id}",
                node_cluster="legation",
                admin_port=opts.admin_port,
                xds_host="127.0.0.1",
                xds_port=server.port,
                delta=opts.xds_delta,
            )
            self.envoy = EnvoyProcess(
                bootstrap,
                Path(workdir),
                admin_port=opts.admin_port,
                log_level=opts.envoy_log_level,
                concurrency=opts.envoy_concurrency,
            )
            await self.envoy.start()
            watch_task = asyncio.create_task(self._watch(), name="watch")
            log.info(
                "legation %s: HTTP on :%d, diagnostics on :%d, Envoy admin on 127.0.0.1:%d, "
                "xDS on 127.0.0.1:%d, watching %s",
                __version__,
                opts.http_port,
                opts.diag_port,
                opts.admin_port,
                server.port,
                opts.config_dir,
            )
            await self._stop.wait()
            log.info("stopping: draining Envoy for up to %.0f s", opts.drain_seconds)
            watch_task.cancel()
            await self.envoy.stop(opts.drain_seconds)
        diag.should_exit = True
        await server.stop(1.0)
        with contextlib.suppress(asyncio.CancelledError):
            await diag_task
            await watch_task

    async def _watch(self) -> None:
        async for _changes in watch_folder(
            self.options.config_dir, debounce_ms=self.options.debounce_ms
        ):
            self.apply()


def node_data(node: Any) -> dict[str, Any]:
    """An xDS node's status as plain data."""
    import dataclasses

    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        from legation.ir.serialize import to_data

        data: dict[str, Any] = to_data(node)
        return data
    return {"node": str(node)}
