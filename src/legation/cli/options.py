"""Options shared by several commands.

The stages are imported inside the functions that run them, so that a command's
`--help` (and `legation check`, which needs no Envoy translation) does not pay for
importing them: see bench/cli_startup_bench.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from legation.sources.limits import DEFAULT_MAX_FILE_SIZE

if TYPE_CHECKING:
    from legation.compile.compiler import CompileOptions, CompileResult
    from legation.runtime.pipeline import BuildResult
    from legation.sources.snapshot import Snapshot

F = TypeVar("F", bound=Callable[..., Any])

config_dir_argument = click.argument(
    "config_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)


def ambassador_id_option(func: F) -> F:
    """`--ambassador-id`: which resources this gateway instance takes."""
    return click.option(
        "--ambassador-id",
        default="default",
        show_default=True,
        envvar="AMBASSADOR_ID",
        help="Only resources whose ambassador_id includes this value (or _automatic_).",
    )(func)


def http_port_option(func: F) -> F:
    """`--http-port`: the port of the default HTTP listener."""
    return click.option(
        "--http-port", default=8080, show_default=True, type=int, help="Port of the HTTP listener."
    )(func)


def https_port_option(func: F) -> F:
    """`--https-port`: the port of the HTTPS listener (when a Host terminates TLS)."""
    return click.option(
        "--https-port",
        default=8443,
        show_default=True,
        type=int,
        help="Port of the HTTPS listener, made when some Host terminates TLS.",
    )(func)


def max_file_size_option(func: F) -> F:
    """`--max-file-size`: files larger than this are reported and not read."""
    return click.option(
        "--max-file-size",
        default=DEFAULT_MAX_FILE_SIZE,
        show_default=True,
        type=click.IntRange(min=1),
        help="Largest configuration file read, in bytes; a larger one is reported, not read.",
    )(func)


def build_folder(
    config_dir: Path,
    ambassador_id: str,
    http_port: int,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    control_ports: frozenset[int] | None = None,
    https_port: int = 8443,
) -> BuildResult:
    """Read a folder once (files being written get a moment) and run the whole pipeline.

    `control_ports`: the gateway's own TCP control ports, which no Mapping may target
    (None: the default diagnostics port, 8877).
    """
    from legation.runtime.pipeline import Pipeline

    snapshot = read_folder(config_dir, max_file_size)
    options = compile_options(ambassador_id, http_port, control_ports, https_port)
    return Pipeline(options).build(snapshot)


def compile_folder(
    config_dir: Path,
    ambassador_id: str,
    http_port: int,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    control_ports: frozenset[int] | None = None,
    https_port: int = 8443,
) -> tuple[Snapshot, CompileResult]:
    """Like `build_folder`, but stop after compile: no Envoy translation.

    Every problem a configuration can have is found while reading or compiling (the
    translator reports none), so this is all `legation check` needs, without importing
    the Envoy protobufs.
    """
    import datetime

    from legation.compile.compiler import compile_config

    snapshot = read_folder(config_dir, max_file_size)
    options = compile_options(ambassador_id, http_port, control_ports, https_port)
    now = datetime.datetime.now(datetime.UTC)  # expired certificates get a warning
    compiled = compile_config(
        snapshot.objects, options, files=snapshot.files, now=now, discovery=snapshot.discovery
    )
    return snapshot, compiled


def read_folder(config_dir: Path, max_file_size: int) -> Snapshot:
    """Read a folder once, giving files being written a moment to settle, with the
    certificate files it names (relative paths from the folder) and the discovery
    documents of the OpenID providers its OAuth2 Filters name only by their issuer
    (fetched once, as `run` would)."""
    import dataclasses

    from legation.sources.cert_files import read_named_files
    from legation.sources.files import FolderReader
    from legation.sources.oidc_discovery import fetch_discovery_once

    snapshot = FolderReader(config_dir, max_file_size=max_file_size).read_settled()
    return dataclasses.replace(
        snapshot,
        files=read_named_files(snapshot.objects, config_dir),
        discovery=fetch_discovery_once(snapshot.objects),
    )


def compile_options(
    ambassador_id: str,
    http_port: int,
    control_ports: frozenset[int] | None,
    https_port: int = 8443,
) -> CompileOptions:
    """The compile options of a one-shot command (`control_ports` None: the default)."""
    from legation.compile.compiler import CompileOptions

    options = CompileOptions(
        ambassador_id=ambassador_id, http_port=http_port, https_port=https_port
    )
    if control_ports is not None:
        options = dataclasses.replace(options, control_ports=control_ports)
    return options
