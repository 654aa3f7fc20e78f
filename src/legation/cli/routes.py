"""`legation routes DIR`: print the route table in match order."""

from __future__ import annotations

import json
from pathlib import Path

import click

from legation.cli.options import (
    ambassador_id_option,
    build_folder,
    config_dir_argument,
    http_port_option,
)
from legation.runtime.state import route_info


def _match_text(route: dict[str, object]) -> str:
    path = route["path"]
    assert isinstance(path, dict)
    parts = [f"{path['kind']} {path['value']}"]
    if route.get("method"):
        parts.append(f"method={route['method']}")
    for h in route.get("headers") or []:  # type: ignore[attr-defined]
        parts.append(f"header {h['name']}{'~' if h['regex'] else '='}{h['value'] or '(present)'}")
    for q in route.get("query_parameters") or []:  # type: ignore[attr-defined]
        parts.append(f"query {q['name']}{'~' if q['regex'] else '='}{q['value'] or '(present)'}")
    return " ".join(parts)


@click.command()
@config_dir_argument
@ambassador_id_option
@http_port_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def routes(config_dir: Path, ambassador_id: str, http_port: int, as_json: bool) -> None:
    """Print every route of CONFIG_DIR in the order Envoy tries them."""
    result = build_folder(config_dir, ambassador_id, http_port)
    for problem in result.errors:
        click.echo(problem.describe(), err=True)
    info = route_info(result.compiled.gateway)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    current = None
    for route in info:
        if route["virtual_host"] != current:
            current = route["virtual_host"]
            click.echo(f"virtual host {current} (domains: {', '.join(route['domains'])}):")
        targets = ", ".join(f"{c['name']} {c['weight']}%" for c in route["clusters"])
        click.echo(
            f"  {_match_text(route):<50} prec={route['precedence']:<3} "
            f"→ {targets}   [{route['source']}]"
        )
