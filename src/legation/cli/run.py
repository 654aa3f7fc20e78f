"""`legation run`: serve a folder of configuration through a supervised Envoy."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from legation.cli.kubernetes import kubernetes_options
from legation.cli.options import (
    ambassador_id_option,
    http_port_option,
    https_port_option,
    max_file_size_option,
)

if TYPE_CHECKING:
    from legation.runtime.source import KubernetesOptions


@click.command()
@click.option(
    "--config-dir",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of YAML manifests, watched recursively.",
)
@kubernetes_options
@http_port_option
@https_port_option
@click.option(
    "--diag-port", default=8877, show_default=True, type=int, help="Diagnostics and probes port."
)
@click.option(
    "--admin-port",
    default=None,
    type=int,
    help="Put Envoy's admin on this loopback TCP port (default: a Unix socket in the run dir).",
)
@click.option(
    "--xds-port",
    default=None,
    type=int,
    help="Serve xDS on this loopback TCP port (default: a Unix socket in the run dir).",
)
@click.option(
    "--run-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Private (0700) directory for the xDS and admin sockets (default: a new temporary one).",
)
@ambassador_id_option
@click.option(
    "--diag-host", default="0.0.0.0", show_default=True, help="Address the diagnostics port binds."
)
@click.option(
    "--diag-allowed-host",
    "diag_allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A name the diagnostics views answer in the Host header, besides localhost, this "
    "host's names and IP addresses (repeatable; DNS-rebinding protection).",
)
@click.option("--xds-delta", is_flag=True, help="Have Envoy use incremental (delta) xDS.")
@click.option("--envoy-log-level", default="warning", show_default=True, help="Envoy's log level.")
@click.option(
    "--envoy-concurrency", type=int, default=None, help="Envoy worker threads (default: cores)."
)
@click.option(
    "--drain-seconds",
    default=5.0,
    show_default=True,
    type=float,
    help="After SIGTERM: keep serving this long (readiness failing, Envoy draining), then stop.",
)
@click.option(
    "--route-matcher",
    type=click.Choice(["auto", "list", "tree"]),
    default="auto",
    show_default=True,
    help="Route table form: a matcher tree for large virtual hosts (auto), or always one form.",
)
@max_file_size_option
@click.option(
    "--rate-limiter",
    is_flag=True,
    help="Start Redis and envoyproxy/ratelimit (loopback, free ports, data in the run dir), "
    "configured from RateLimit resources; the RateLimitService unless one is given.",
)
@click.option(
    "--redis-url",
    default=None,
    metavar="HOST:PORT",
    help="With --rate-limiter: use this Redis instead of starting one (shared by replicas).",
)
@click.option("--log-level", default="info", show_default=True, help="legation's own log level.")
def run(
    config_dir: Path | None,
    kubernetes: KubernetesOptions | None,
    http_port: int,
    https_port: int,
    diag_port: int,
    admin_port: int | None,
    xds_port: int | None,
    run_dir: Path | None,
    ambassador_id: str,
    diag_host: str,
    diag_allowed_hosts: tuple[str, ...],
    xds_delta: bool,
    envoy_log_level: str,
    envoy_concurrency: int | None,
    drain_seconds: float,
    route_matcher: str,
    max_file_size: int,
    rate_limiter: bool,
    redis_url: str | None,
    log_level: str,
) -> None:
    """Run the gateway on a folder (--config-dir) or a Kubernetes API server (--kubernetes)
    until SIGTERM or Ctrl-C."""
    if (config_dir is None) == (kubernetes is None):
        raise click.UsageError("give exactly one of --config-dir DIR and --kubernetes")
    if redis_url is not None and not rate_limiter:
        raise click.UsageError("--redis-url is for the bundled limiter: add --rate-limiter")
    # The runtime (gRPC, Envoy protobufs, the web stack) is imported only to run it,
    # so that `legation run --help` stays quick.
    import asyncio

    from legation.runtime.gateway import GatewayRuntime, RunOptions

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = RunOptions(
        config_dir=config_dir,
        kubernetes=kubernetes,
        http_port=http_port,
        https_port=https_port,
        diag_port=diag_port,
        admin_port=admin_port,
        xds_port=xds_port,
        run_dir=run_dir,
        ambassador_id=ambassador_id,
        diag_host=diag_host,
        diag_allowed_hosts=diag_allowed_hosts,
        xds_delta=xds_delta,
        envoy_log_level=envoy_log_level,
        envoy_concurrency=envoy_concurrency,
        drain_seconds=drain_seconds,
        route_matcher=route_matcher,
        max_file_size=max_file_size,
        rate_limiter=rate_limiter,
        redis_url=redis_url,
    )
    asyncio.run(GatewayRuntime(options).run())
