"""`legation translate DIR`: print the Envoy configuration legation would serve."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from legation.cli.options import (
    ambassador_id_option,
    build_folder,
    config_dir_argument,
    http_port_option,
)


@click.command()
@config_dir_argument
@ambassador_id_option
@http_port_option
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML.")
def translate(config_dir: Path, ambassador_id: str, http_port: int, as_json: bool) -> None:
    """Print the listeners, routes and clusters generated from CONFIG_DIR."""
    result = build_folder(config_dir, ambassador_id, http_port)
    for problem in result.errors:
        click.echo(problem.describe(), err=True)
    data = result.resources.to_data()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
