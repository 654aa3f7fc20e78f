"""`legation crds`: print the getambassador.io CRDs generated from legation's models."""

from __future__ import annotations

import click

from legation.deploy.crds import render


@click.command()
def crds() -> None:
    """Print the CustomResourceDefinitions for `kubectl apply -f -`."""
    click.echo(render(), nl=False)
