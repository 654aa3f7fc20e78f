"""`legation loglevel LEVEL`: change a running gateway's log levels."""

from __future__ import annotations

import contextlib
import json
import sys
import urllib.error
import urllib.request
from urllib.parse import urlencode

import click

from legation.runtime.loglevels import COMPONENTS, LEVELS


@click.command(name="loglevel")
@click.argument("level", type=click.Choice([*LEVELS, "warn"], case_sensitive=False))
@click.option(
    "--component",
    type=click.Choice(COMPONENTS),
    default="all",
    show_default=True,
    help="Whose level to change.",
)
@click.option(
    "--diag-port", default=8877, show_default=True, type=int, help="The gateway's diag port."
)
@click.option(
    "--diag-host", default="127.0.0.1", show_default=True, help="The gateway's diag address."
)
def loglevel(level: str, component: str, diag_port: int, diag_host: str) -> None:
    """Set the log level of legation, Envoy or both (all) in a running gateway.

    The gateway only accepts this from loopback clients, with an `Origin` naming the
    diagnostics address itself (sent here), so that no web page can do it.
    """
    query = urlencode({"level": level.lower(), "component": component, "json": "true"})
    host = f"[{diag_host}]" if ":" in diag_host else diag_host
    origin = f"http://{host}:{diag_port}"
    url = f"{origin}/ambassador/v0/diag/loglevel?{query}"
    # urllib sends `Host: <host>:<port>` for this URL; the Origin must equal it
    request = urllib.request.Request(url, method="POST", data=b"", headers={"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        with contextlib.suppress(ValueError):
            text = json.loads(text).get("error") or text
        click.echo(f"error: {text.strip()}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: cannot reach {url}: {exc}", err=True)
        sys.exit(1)
    levels = body["levels"]
    click.echo(f"legation: {levels['legation']}, envoy: {levels['envoy']}")
