"""`legation check DIR`: validate configuration without running anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from legation.cli.options import (
    ambassador_id_option,
    build_folder,
    config_dir_argument,
    max_file_size_option,
)
from legation.ir.errors import Severity


@click.command()
@config_dir_argument
@ambassador_id_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--quiet", "-q", is_flag=True, help="Print errors only, not notices.")
@max_file_size_option
@click.option(
    "--diag-port",
    default=8877,
    show_default=True,
    type=int,
    help="The gateway's diagnostics port: a Mapping to it on a local address is an error.",
)
@click.option(
    "--admin-port",
    type=int,
    default=None,
    help="Envoy's admin TCP port, when the gateway runs with one (refused as a target too).",
)
@click.option(
    "--xds-port",
    type=int,
    default=None,
    help="The xDS TCP port, when the gateway runs with one (refused as a target too).",
)
def check(
    config_dir: Path,
    ambassador_id: str,
    as_json: bool,
    quiet: bool,
    max_file_size: int,
    diag_port: int,
    admin_port: int | None,
    xds_port: int | None,
) -> None:
    """Validate every resource under CONFIG_DIR; exit 1 if any has an error."""
    ports = frozenset(p for p in (diag_port, admin_port, xds_port) if p)
    result = build_folder(config_dir, ambassador_id, 8080, max_file_size, ports)
    problems = [p for p in result.problems if not (quiet and p.severity is Severity.NOTICE)]
    errors = result.errors
    if as_json:
        payload = {
            "ok": not errors,
            "resources": len(result.compiled.resources),
            "problems": [
                {
                    "severity": p.severity.value,
                    "file": p.source.location,
                    "line": p.source.line,
                    "annotation": p.source.annotation,
                    "resource": p.resource,
                    "field": p.field,
                    "message": p.message,
                }
                for p in problems
            ],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for problem in problems:
            click.echo(problem.describe(), err=problem.severity is Severity.ERROR)
        resources = len(result.compiled.resources)
        status = "OK" if not errors else f"{len(errors)} error(s)"
        click.echo(f"{resources} resource(s) read, {status}", err=bool(errors))
    sys.exit(1 if errors else 0)
