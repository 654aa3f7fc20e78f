"""Entry point: the `legation` command group."""

from __future__ import annotations

import click

from legation.cli.check import check
from legation.cli.crds import crds
from legation.cli.explain import explain_command
from legation.cli.loglevel import loglevel
from legation.cli.routes import routes
from legation.cli.run import run
from legation.cli.translate import translate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="legation")
def cli() -> None:
    """legation: an API gateway on Envoy that reads Ambassador/Emissary configuration."""


cli.add_command(run)
cli.add_command(check)
cli.add_command(translate)
cli.add_command(routes)
cli.add_command(explain_command)
cli.add_command(loglevel)
cli.add_command(crds)


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
