"""A click group that imports a command's module only when that command is used.

`legation --help` lists every command from a static table (name, module, one-line
summary) and imports none of them: several pull in gRPC, the Envoy protobufs and the
whole compile stack, which cost about a second before anything is printed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives and the summary `--help` shows for it without importing it."""

    module: str
    """Dotted module path, e.g. `legation.cli.check`."""
    attribute: str
    """Name of the `click.Command` object in that module."""
    summary: str
    """First paragraph of the command's docstring (a unit test keeps the two equal)."""


class LazyGroup(click.Group):
    """A `click.Group` whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy_commands: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, eager and lazy, sorted as click sorts them."""
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module the first time the command is asked for."""
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(load_command(self.lazy_commands[cmd_name]), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The `Commands:` section, from the static summaries (imports nothing)."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:
                # A stand-in with the same help text: click shortens it exactly as it
                # would shorten the real command's docstring.
                command = click.Command(name, help=self.lazy_commands[name].summary)
            if not command.hidden:
                rows.append((name, command))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


def load_command(lazy: LazyCommand) -> click.Command:
    """Import `lazy.module` and return its command object."""
    command = getattr(importlib.import_module(lazy.module), lazy.attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{lazy.module}.{lazy.attribute} is not a click command")
    return command
