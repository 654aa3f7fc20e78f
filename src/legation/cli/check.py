"""`legation check DIR`: validate configuration without running anything."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from legation.cli.options import (
    ambassador_id_option,
    compile_folder,
    config_dir_argument,
    max_file_size_option,
)
from legation.ir.errors import ConfigProblem, Severity

if TYPE_CHECKING:
    from legation.compile.compiler import CompileResult


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
    snapshot, compiled = compile_folder(config_dir, ambassador_id, 8080, max_file_size, ports)
    found = snapshot.problems + compiled.problems + _limiter_notice(compiled)
    problems = [p for p in found if not (quiet and p.severity is Severity.NOTICE)]
    errors = [p for p in found if p.severity is Severity.ERROR]
    if as_json:
        payload = {
            "ok": not errors,
            "resources": len(compiled.resources),
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
        resources = len(compiled.resources)
        status = "OK" if not errors else f"{len(errors)} error(s)"
        click.echo(f"{resources} resource(s) read, {status}", err=bool(errors))
    sys.exit(1 if errors else 0)


def _limiter_notice(compiled: CompileResult) -> tuple[ConfigProblem, ...]:
    """A notice when the RateLimitService's limiter does not answer right now (the
    configuration is valid; a running gateway reports it as an error)."""
    service = compiled.gateway.ratelimit.service
    if service is None:
        return ()
    from legation.runtime.limiter import limiter_answers, unreachable_problem

    reason = limiter_answers(service)
    found = unreachable_problem(service, compiled.resources, reason) if reason else None
    if found is None:
        return ()
    return (dataclasses.replace(found, severity=Severity.NOTICE),)
