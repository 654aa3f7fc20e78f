"""Entry point: the `legation` command group."""

from __future__ import annotations

import click

from legation.cli.lazy import LazyCommand, LazyGroup

# Command modules are imported only when their command runs (or its --help is shown);
# `summary` is what `legation --help` lists for each, kept equal to the docstring by
# tests/unit/cli/test_lazy_imports.py.
COMMANDS: dict[str, LazyCommand] = {
    "run": LazyCommand(
        "legation.cli.run",
        "run",
        "Run the gateway on a folder (--config-dir) or a Kubernetes API server (--kubernetes)"
        " until SIGTERM or Ctrl-C.",
    ),
    "check": LazyCommand(
        "legation.cli.check",
        "check",
        "Validate every resource under CONFIG_DIR; exit 1 if any has an error.",
    ),
    "translate": LazyCommand(
        "legation.cli.translate",
        "translate",
        "Print the listeners, routes and clusters generated from CONFIG_DIR.",
    ),
    "routes": LazyCommand(
        "legation.cli.routes",
        "routes",
        "Print every route of CONFIG_DIR in the order Envoy tries them.",
    ),
    "explain": LazyCommand(
        "legation.cli.explain",
        "explain_command",
        "Say which Mapping serves METHOD URL, and why the routes before it did not.",
    ),
    "loglevel": LazyCommand(
        "legation.cli.loglevel",
        "loglevel",
        "Set the log level of legation, Envoy or both (all) in a running gateway.",
    ),
    "crds": LazyCommand(
        "legation.cli.crds",
        "crds",
        "Print the CustomResourceDefinitions for `kubectl apply -f -`.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="legation")
def cli() -> None:
    """legation: an API gateway on Envoy that reads Ambassador/Emissary configuration."""


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
