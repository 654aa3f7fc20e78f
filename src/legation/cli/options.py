"""Options shared by several commands."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from legation.compile.compiler import CompileOptions
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.sources.files import DEFAULT_MAX_FILE_SIZE, FolderReader

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
    snapshot = FolderReader(config_dir, max_file_size=max_file_size).read_settled()
    options = CompileOptions(
        ambassador_id=ambassador_id, http_port=http_port, https_port=https_port
    )
    if control_ports is not None:
        options = dataclasses.replace(options, control_ports=control_ports)
    return Pipeline(options).build(snapshot)
