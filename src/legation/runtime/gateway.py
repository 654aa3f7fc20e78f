"""`legation run`: the long-running gateway — folder watch, xDS server, Envoy, diagnostics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
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
from legation.ir.serialize import to_data
from legation.runtime.diagview import GatewayDiag
from legation.runtime.metrics import ControlPlaneMetrics
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.runtime.quarantine import Quarantine
from legation.runtime.source import open_source
from legation.runtime.state import build_overview, config_state
from legation.sources.base import SourceError
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.snapshot import Snapshot
from legation.xds.cache import XdsCache
from legation.xds.server import XdsServer
from legation.xds.status import NodeStatus

log = logging.getLogger("legation")

ACK_POLL_S = 0.05
"""How often the Envoys' ACK/NACK state is checked for rejected configurations."""

ENVOY_DOWN_LIMIT_S = 30.0
"""How long Envoy may stay down before the liveness probe fails."""


@dataclass(frozen=True)
class RunOptions:
    """Everything `legation run` can be told."""

    config_dir: Path | None = None
    kubernetes: KubernetesOptions | None = None
    """Read a Kubernetes API server instead of `config_dir`."""
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
        self.source = open_source(options.config_dir, options.kubernetes, options.debounce_ms)
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
        self.metrics = ControlPlaneMetrics(self)
        self.quarantine = Quarantine()
        self._snapshot: Snapshot | None = None
        self._envoy_live_pid: int | None = None
        """The Envoy process whose admin `/ready` said LIVE (its listeners are up)."""

    # --- the pipeline -------------------------------------------------------------
    def apply(self, snapshot: Snapshot) -> None:
        """Compile, translate and publish a snapshot; keep the last result on failure."""
        started = time.perf_counter()
        self._snapshot = snapshot
        try:
            result = self.pipeline.build(snapshot, self.quarantine.held())
        except Exception:  # a bug must not take the gateway down
            log.exception("configuration build failed; keeping the last good configuration")
            self.metrics.observe_failure()
            return
        self._report(result.problems)
        self.source.report(result.problems)
        self.version = self.cache.set_resources(result.resources.by_type_url())
        self.quarantine.built(result.compiled.resources)
        self.last = result
        self.reconfigurations += 1
        self.metrics.observe_build(result)
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
        """Ready once every connected Envoy holds the current configuration, or holds an
        earlier one it accepted because it rejected (NACKed) the current one: Envoy then
        keeps routing with its last good configuration, and taking every replica out of
        service over one bad resource would turn a config error into an outage."""
        return (
            self.last is not None
            and self.envoy is not None
            and self.envoy.alive
            and self.envoy.pid == self._envoy_live_pid
            and config_state(self.cache.nodes(), self.version) in ("in sync", "rejected")
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
                    "pid": self.envoy.pid if self.envoy else None,
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
        initial = await self._initial_snapshot()
        if initial is None:
            return
        self.apply(initial)
        server = XdsServer(self.cache, "127.0.0.1", opts.xds_port)
        await server.start()
        diag = _QuietServer(
            uvicorn.Config(
                build_app(GatewayDiag(self, self.metrics)),
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
                # access-log lines reach their file within a second, not Envoy's 10 s
                extra_args=("--file-flush-interval-msec", "1000"),
            )
            await self.envoy.start()
            watch_task = asyncio.create_task(self._watch(), name="watch")
            acks_task = asyncio.create_task(self._watch_acks(), name="acks")
            log.info(
                "legation %s: HTTP on :%d, diagnostics on :%d, Envoy admin on 127.0.0.1:%d, "
                "xDS on 127.0.0.1:%d, watching %s",
                __version__,
                opts.http_port,
                opts.diag_port,
                opts.admin_port,
                server.port,
                self.source.description,
            )
            await self._stop.wait()
            log.info("stopping: draining Envoy for up to %.0f s", opts.drain_seconds)
            watch_task.cancel()
            acks_task.cancel()
            await self.envoy.stop(opts.drain_seconds)
        diag.should_exit = True
        await server.stop(1.0)
        with contextlib.suppress(asyncio.CancelledError):
            await diag_task
            await watch_task
        await self.source.close()

    async def _initial_snapshot(self) -> Snapshot | None:
        """The source's first snapshot; None when stopped first. Exits 1 if it cannot work."""
        first = asyncio.ensure_future(self.source.initial())
        stop = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({first, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not first.done():
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            await self.source.close()
            return None
        try:
            return first.result()
        except SourceError as exc:
            log.error("cannot start: %s", exc)
            await self.source.close()
            raise SystemExit(1) from None

    async def _watch(self) -> None:
        async for snapshot in self.source.updates():
            self.apply(snapshot)

    async def _check_envoy_live(self) -> None:
        """Note when a (re)started Envoy has finished initializing: an ACK alone does not
        mean its listeners are bound yet."""
        envoy = self.envoy
        if envoy is None or not envoy.alive or envoy.pid == self._envoy_live_pid:
            return
        try:
            status, _ = await envoy.admin_get("/ready")
        except (OSError, ValueError):
            return
        if status == 200:
            self._envoy_live_pid = envoy.pid

    async def _watch_acks(self) -> None:
        """When Envoy rejects the current configuration, withhold what changed and retry."""
        while True:
            await asyncio.sleep(ACK_POLL_S)
            await self._check_envoy_live()
            nodes = self.cache.nodes()
            state = config_state(nodes, self.version)
            rebuild = self.quarantine.observe(state, self.version, nack_reason(nodes))
            if rebuild and self._snapshot is not None:
                self.apply(self._snapshot)


def nack_reason(nodes: Sequence[NodeStatus]) -> str:
    """Envoy's message for the newest rejection among connected nodes ("" if none)."""
    for node in nodes:
        for status in node.types.values():
            if (
                node.connected
                and status.nack is not None
                and status.nack.version == status.sent_version == status.desired_version
            ):
                return status.nack.message
    return ""


def node_data(node: NodeStatus) -> dict[str, Any]:
    """An xDS node's status as plain data."""
    data: dict[str, Any] = to_data(node)
    return data
