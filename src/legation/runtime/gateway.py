"""`legation run`: the long-running gateway — folder watch, xDS server, Envoy, diagnostics."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from legation import __version__
from legation.compile.compiler import CompileOptions, Withheld
from legation.diag.app import build_app
from legation.diag.server import server_config
from legation.envoy.process import EnvoyProcess, EnvoyStartRefused
from legation.ir.errors import ConfigProblem
from legation.ir.ratelimit import RateLimitService
from legation.ir.serialize import to_data
from legation.ratelimit.limiter_config import config_file_name
from legation.runtime.channels import ControlChannels, check_listeners_free
from legation.runtime.diagview import GatewayDiag
from legation.runtime.limiter import LimiterMonitor, LimiterRuntime
from legation.runtime.local_names import local_names
from legation.runtime.metrics import ControlPlaneMetrics
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.runtime.ports import PortConflict, bind_tcp
from legation.runtime.quarantine import Quarantine
from legation.runtime.rundir import RunDirError
from legation.runtime.source import open_source
from legation.runtime.state import build_overview, config_state, holds_configuration
from legation.sources.base import SourceError
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.snapshot import Snapshot
from legation.xds.cache import Snapshot as CacheSnapshot
from legation.xds.cache import XdsCache
from legation.xds.status import NodeStatus

log = logging.getLogger("legation")

ACK_POLL_S = 0.05
"""How often the Envoys' ACK/NACK state is checked for rejected configurations."""

ENVOY_DOWN_LIMIT_S = 30.0
"""How long Envoy may stay down before the liveness probe fails."""

LIMITER_POLL_S = 2.0
"""How often the rate limiter in use is checked for answering."""

LOG_PROBLEMS_MAX = 50
"""New configuration problems logged per build; the rest are counted in one line."""


@dataclass(frozen=True)
class RunOptions:
    """Everything `legation run` can be told."""

    config_dir: Path | None = None
    kubernetes: KubernetesOptions | None = None
    """Read a Kubernetes API server instead of `config_dir`."""
    http_port: int = 8080
    https_port: int = 8443
    """The HTTPS listener's port, used once some Host terminates TLS."""
    diag_port: int = 8877
    admin_port: int | None = None
    """Envoy admin on this loopback TCP port; None: a Unix socket in the run dir."""
    xds_port: int | None = None
    """xDS on this loopback TCP port; None: a Unix socket in the run dir."""
    run_dir: Path | None = None
    """The private (0700) directory for the sockets and bootstrap; None: a temporary one."""
    ambassador_id: str = "default"
    diag_host: str = "0.0.0.0"
    diag_allowed_hosts: tuple[str, ...] = ()
    """Names a `Host` header may give for the diagnostics views (besides localhost and
    IP addresses; `--diag-allowed-host`)."""
    xds_delta: bool = False
    envoy_log_level: str = "warning"
    envoy_concurrency: int | None = None
    drain_seconds: float = 5.0
    debounce_ms: int = 50
    route_matcher: str = "auto"
    max_file_size: int = 8 * 1024 * 1024
    """Folder source: files larger than this (bytes) are reported and not read."""
    rate_limiter: bool = False
    """Start the bundled limiter (Redis + envoyproxy/ratelimit) and configure it from
    RateLimit resources; it is the RateLimitService when none is given."""
    redis_url: str | None = None
    """The bundled limiter's Redis (`host:port`); None: start one."""


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
        self.channels = ControlChannels(options.admin_port, options.xds_port, options.run_dir)
        self.cache: XdsCache = self.channels.cache()
        self._exit_code = 0
        self.limiter = LimiterRuntime(options.redis_url) if options.rate_limiter else None
        self.source = open_source(
            options.config_dir, options.kubernetes, options.debounce_ms, options.max_file_size
        )
        self.pipeline = Pipeline(
            CompileOptions(
                ambassador_id=options.ambassador_id,
                http_port=options.http_port,
                https_port=options.https_port,
                control_ports=control_ports(options),
                local_names=local_names(),
                bundled_limiter=self.limiter.address if self.limiter else None,
            ),
            route_matcher=options.route_matcher,
        )
        self.last: BuildResult | None = None
        self.version = ""
        self.envoy: EnvoyProcess | None = None
        self.reconfigurations = 0
        self._stop = asyncio.Event()
        self.limiter_monitor = LimiterMonitor(self.limiter)
        self._known_problems: set[ConfigProblem] = set()
        self._envoy_down_since: float | None = None
        self.metrics = ControlPlaneMetrics(self)
        self.quarantine = Quarantine()
        self._snapshot: Snapshot | None = None
        self._build_lock = asyncio.Lock()
        self._envoy_live_pid: int | None = None
        """The Envoy process whose admin `/ready` said LIVE (its listeners are up)."""
        self._envoy_serving_pid: int | None = None
        """The Envoy process that has accepted a complete configuration of this run."""
        self.stopping = False
        """Set once shutdown has begun: readiness fails while Envoy drains."""

    # --- the pipeline -------------------------------------------------------------
    async def apply(self, snapshot: Snapshot) -> None:
        """Compile, translate and publish a snapshot; keep the last result on failure.

        The work runs in a worker thread, one build at a time, so probes, diagnostics
        and xDS keep answering during a long build; only the swap into the xDS cache
        happens on the event loop.
        """
        async with self._build_lock:
            started = time.perf_counter()
            self._snapshot = snapshot
            held = dict(self.quarantine.held())  # a copy: the loop may add to it meanwhile
            try:
                result, prepared = await asyncio.to_thread(self._build, snapshot, held)
            except Exception:  # a bug must not take the gateway down
                log.exception("configuration build failed; keeping the last good configuration")
                self.metrics.observe_failure()
                return
            self._publish(result, prepared, started)

    def _build(self, snapshot: Snapshot, held: Withheld) -> tuple[BuildResult, CacheSnapshot]:
        """The pure part of `apply`, run off the event loop (and the limiter's files:
        written before Envoy gets routes that send their descriptors)."""
        result = self.pipeline.build(snapshot, held)
        result = self._check_limiter(result)
        return result, self.cache.prepare(result.resources.by_type_url())

    def _check_limiter(self, result: BuildResult) -> BuildResult:
        """Write the bundled limiter's documents; report a limiter that does not answer."""
        limiting = result.compiled.gateway.ratelimit
        if self.limiter is not None:
            self.limiter.write(limiting.documents)
        found = self.limiter_monitor.problems(limiting.service, result.compiled.resources)
        return dataclasses.replace(result, runtime_problems=found) if found else result

    def _publish(self, result: BuildResult, prepared: CacheSnapshot, started: float) -> None:
        """Hand a finished build to the xDS streams, the reports and the metrics."""
        self._report(result.problems)
        self.source.report(result.problems)
        documents = result.compiled.gateway.ratelimit.documents
        self.source.publish_limiter({config_file_name(d.domain): d.text for d in documents})
        self.version = self.cache.publish(prepared)
        self.quarantine.built(result.compiled.resources)
        self.last = result
        self.reconfigurations += 1
        self.metrics.observe_build(result)
        gateway = result.compiled.gateway
        log.info(
            "configuration %s: %d route(s), %d cluster(s), %d error(s) in %.1f ms",
            self.version,
            sum(len(vh.routes) for rc in gateway.route_configs for vh in rc.virtual_hosts),
            len(gateway.clusters),
            len(result.errors),
            (time.perf_counter() - started) * 1000,
        )

    def _report(self, problems: tuple[ConfigProblem, ...]) -> None:
        """Log problems once, when they first appear, at most `LOG_PROBLEMS_MAX` a build
        (a file of 100,000 bad documents must not write 100,000 log lines)."""
        current = set(problems)
        new = sorted(current - self._known_problems, key=lambda p: p.describe())
        for problem in new[:LOG_PROBLEMS_MAX]:
            level = logging.ERROR if problem.severity.value == "error" else logging.INFO
            log.log(level, "%s", problem.describe())
        if len(new) > LOG_PROBLEMS_MAX:
            log.warning(
                "... and %d more new configuration problem(s): see the diagnostics",
                len(new) - LOG_PROBLEMS_MAX,
            )
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
        """Serving: the current Envoy process has bound its listeners and has accepted
        (ACKed) a complete configuration from this run.

        It stays ready while a newer configuration is on its way or was rejected: Envoy
        keeps routing with what it holds, and under steady churn there is always a newer
        one pending. Not ready before the first build, while a (re)started Envoy has not
        accepted a configuration yet, and once shutdown has begun.
        """
        envoy = self.envoy
        return (
            self.last is not None
            and not self.stopping
            and envoy is not None
            and envoy.alive
            and envoy.pid == self._envoy_live_pid
            and envoy.pid == self._envoy_serving_pid
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
                "ratelimit": self.limiter_monitor.view(
                    self.last.compiled.gateway.ratelimit.service if self.last else None
                ),
                "write_back": self.write_back_role(),
            }
        )
        return data

    def write_back_role(self) -> str:
        """`leader` / `follower` (Kubernetes, leader election on), `single` (Kubernetes,
        off) or `none` (a folder: nothing is written back)."""
        role = getattr(self.source, "role", None)
        return str(role()) if callable(role) else "none"

    # --- lifecycle ----------------------------------------------------------------
    async def run(self) -> None:
        """Run until SIGTERM/SIGINT, then drain Envoy and stop everything cleanly.

        The diagnostics port (with the probes) comes up first, so the kubelet hears
        "alive, not ready" during a long first build instead of nothing.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        diag, diag_task = self._start_diag(self._claim_ports())
        try:
            await self._start_limiter()
            initial = await self._initial_snapshot()
            if initial is not None:
                await self.apply(initial)
                await self._serve()
        finally:
            diag.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await diag_task
            await self.source.close()
            if self.limiter is not None:
                await asyncio.to_thread(self.limiter.stop)
            self.channels.close()
        if self._exit_code:
            raise SystemExit(self._exit_code)

    async def _start_limiter(self) -> None:
        """Start the bundled limiter (if asked for) before the first build; exit 2 if
        it cannot start."""
        if self.limiter is None:
            return
        try:
            await asyncio.to_thread(self.limiter.start, self.channels.path)
        except (OSError, RuntimeError) as exc:
            log.error("cannot start the rate limiter: %s", exc)
            raise SystemExit(2) from None

    async def _watch_limiter(self) -> None:
        """Supervise and probe the limiter (runtime/limiter.py); rebuild when it goes or
        comes back, so its problem appears and clears."""

        def service() -> RateLimitService | None:
            return self.last.compiled.gateway.ratelimit.service if self.last else None

        async def rebuild() -> None:
            if self._snapshot is not None:
                await self.apply(self._snapshot)

        await self.limiter_monitor.watch(service, rebuild, LIMITER_POLL_S)

    def _claim_ports(self) -> socket.socket:
        """Bind the diagnostics port and check the control channels before anything
        else; a conflict is one line naming the port and its holder, and exit 2."""
        opts = self.options
        try:
            diag_socket = bind_tcp(opts.diag_host, opts.diag_port, "diagnostics, --diag-port")
            try:
                self.channels.open()
            except Exception:
                diag_socket.close()
                raise
        except (PortConflict, RunDirError) as exc:
            log.error("cannot start: %s", exc)
            raise SystemExit(2) from None
        return diag_socket

    def _preflight(self) -> None:
        """Before each start of Envoy: nobody else may hold its admin address, nor, before
        it first came up, the ports of its listeners (later, a taken port is one
        listener's rejection, withheld by the quarantine)."""
        self.channels.check_admin_free()
        if self._envoy_live_pid is None and self.last is not None:
            gateway = self.last.compiled.gateway
            addresses = [(lst.address, lst.port) for lst in gateway.listeners]
            check_listeners_free(addresses, self.options.http_port)

    def _envoy_refused(self, reason: str) -> None:
        """The supervisor cannot restart Envoy (a port is taken): stop with status 2."""
        log.error("cannot restart Envoy: %s", reason)
        self._exit_code = 2
        self._stop.set()

    def _start_diag(self, sock: socket.socket) -> tuple[uvicorn.Server, asyncio.Task[None]]:
        """Serve probes, metrics and the diagnostics UI on the already bound ``sock``."""
        opts = self.options
        app = build_app(
            GatewayDiag(self, self.metrics),
            allowed_hosts={*opts.diag_allowed_hosts, *local_names()},
        )
        diag = _QuietServer(server_config(app, opts.diag_host, opts.diag_port))
        return diag, asyncio.create_task(diag.serve(sockets=[sock]), name="diag")

    async def _serve(self) -> None:
        """Start the xDS server and Envoy, follow the source until told to stop, drain."""
        opts = self.options
        server = self.channels.xds_server(self.cache)
        try:
            await server.start()
        except OSError as exc:  # taken since _claim_ports checked it
            log.error("cannot start: %s", exc)
            raise SystemExit(2) from None
        self.envoy = self._envoy(self.channels.path, server.port)
        try:
            await self.envoy.start()
        except EnvoyStartRefused as exc:
            log.error("cannot start: %s", exc)
            await server.stop(0)
            raise SystemExit(2) from None
        watch_task = asyncio.create_task(self._watch(), name="watch")
        acks_task = asyncio.create_task(self._watch_acks(), name="acks")
        limiter_task = asyncio.create_task(self._watch_limiter(), name="limiter")
        log.info(
            "legation %s: HTTP on :%d, diagnostics on :%d, %s, watching %s",
            __version__,
            opts.http_port,
            opts.diag_port,
            self.channels.describe(),
            self.source.description,
        )
        await self._stop.wait()
        # Graceful rollout: readiness fails at once, so load balancers (Endpoints, kube-
        # proxy) stop sending new connections; Envoy keeps serving new and open ones for
        # the whole drain time (asking keep-alive clients to close), and only then stops.
        self.stopping = True
        log.info("stopping: not ready; serving %.1f s more while Envoy drains", opts.drain_seconds)
        watch_task.cancel()
        acks_task.cancel()
        limiter_task.cancel()
        await self.envoy.stop(opts.drain_seconds, serve_s=opts.drain_seconds)
        await server.stop(1.0)
        with contextlib.suppress(asyncio.CancelledError):
            await watch_task
            await acks_task
            await limiter_task

    def _envoy(self, workdir: Path, xds_port: int) -> EnvoyProcess:
        """The supervised Envoy, bootstrapped to fetch everything from our xDS server."""
        opts = self.options
        node_id = f"legation-{opts.ambassador_id}"
        bootstrap = self.channels.bootstrap(node_id, opts.xds_delta, xds_port)
        return EnvoyProcess(
            bootstrap,
            workdir,
            admin=self.channels.admin,
            preflight=self._preflight,
            on_refused=self._envoy_refused,
            log_level=opts.envoy_log_level,
            concurrency=opts.envoy_concurrency,
            # a graceful drain closes Envoy's listeners after --drain-time-s: not before ours
            drain_time_s=max(1, math.ceil(opts.drain_seconds)),
            # access-log lines reach their file within a second, not Envoy's 10 s
            extra_args=("--file-flush-interval-msec", "1000"),
        )

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
            return None
        try:
            return first.result()
        except SourceError as exc:
            log.error("cannot start: %s", exc)
            raise SystemExit(1) from None

    async def _watch(self) -> None:
        async for snapshot in self.source.updates():
            await self.apply(snapshot)

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

    def _note_serving(self, nodes: Sequence[NodeStatus]) -> None:
        """Remember the Envoy process once it holds a complete configuration."""
        envoy = self.envoy
        if envoy is None or not envoy.alive or envoy.pid == self._envoy_serving_pid:
            return
        if self.last is not None and any(holds_configuration(n) for n in nodes):
            self._envoy_serving_pid = envoy.pid

    async def _watch_acks(self) -> None:
        """When Envoy rejects the current configuration, withhold what changed and retry."""
        while True:
            await asyncio.sleep(ACK_POLL_S)
            await self._check_envoy_live()
            nodes = self.cache.nodes()
            self._note_serving(nodes)
            state = config_state(nodes, self.version)
            rebuild = self.quarantine.observe(state, self.version, nack_reason(nodes))
            if rebuild and self._snapshot is not None:
                await self.apply(self._snapshot)


def control_ports(options: RunOptions) -> frozenset[int]:
    """The TCP ports of the gateway's own control interfaces (diagnostics, Envoy admin,
    xDS), which no Mapping may target."""
    ports = {options.diag_port, options.admin_port, options.xds_port}
    return frozenset(p for p in ports if p)  # 0 is "any free port": nothing to refuse


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
