"""`legation explain DIR METHOD URL [-H name:value ...]`: which route serves a request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from legation.cli.options import (
    ambassador_id_option,
    compile_folder,
    config_dir_argument,
    http_port_option,
)
from legation.diag.explain import Request
from legation.diag.tester import explain_gateway, explanation_data


def parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    """`-H 'name: value'` options as a dict."""
    headers = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep:
            raise click.BadParameter(f"expected 'name: value', got {value!r}", param_hint="-H")
        headers[name.strip().lower()] = rest.strip()
    return headers


@click.command(name="explain")
@config_dir_argument
@click.argument("method")
@click.argument("url")
@click.option("-H", "--header", "headers", multiple=True, help="A request header, 'name: value'.")
@ambassador_id_option
@http_port_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def explain_command(
    config_dir: Path,
    method: str,
    url: str,
    headers: tuple[str, ...],
    ambassador_id: str,
    http_port: int,
    as_json: bool,
) -> None:
    """Say which Mapping serves METHOD URL, and why the routes before it did not.

    Exit 0 when a route matches, 1 when the request would get a 404.
    """
    # The IR is all an explanation reads: no Envoy translation (nor its imports).
    _, compiled = compile_folder(config_dir, ambassador_id, http_port)
    request = Request.from_url(method, url, parse_headers(headers))
    answer = explain_gateway(compiled.gateway, request)
    winner = answer.winner if answer else None
    if as_json:
        payload = explanation_data(request, answer)
        click.echo(json.dumps(payload, indent=2))
    else:
        for verdict in answer.considered if answer else ():
            mark = "✔" if verdict.matched else "✘"
            click.echo(f"{mark} {', '.join(verdict.route.mappings)}: {verdict.reason}")
        if winner and answer:
            group = answer.group
            targets = ", ".join(f"{t.cluster} ({t.weight}%)" for r in group for t in r.targets)
            keys = ", ".join(k for r in group for k in r.mappings)
            click.echo(f"→ served by {keys} [{winner.source.describe()}] → {targets}")
        else:
            click.echo("→ no route matches: Envoy answers 404")
    sys.exit(0 if winner else 1)
