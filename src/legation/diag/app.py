"""The diagnostics HTTP app (Starlette): probes, and the JSON overview.

Probes answer anyone (the kubelet is not on loopback); the diagnostics views answer
loopback clients only, as Ambassador users expect.
"""

from __future__ import annotations

import ipaddress

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from legation.diag.state import DiagState


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(state: DiagState, *, allow_non_local: bool = False) -> Starlette:
    """The ASGI app serving probes and diagnostics for `state`."""

    async def check_alive(request: Request) -> Response:
        ok = state.alive()
        return PlainTextResponse("alive\n" if ok else "not alive\n", status_code=200 if ok else 503)

    async def check_ready(request: Request) -> Response:
        ok = state.ready()
        return PlainTextResponse("ready\n" if ok else "not ready\n", status_code=200 if ok else 503)

    async def diag(request: Request) -> Response:
        if not (allow_non_local or _is_loopback(request)):
            return PlainTextResponse(
                "diagnostics are only served to loopback clients\n", status_code=403
            )
        return JSONResponse(state.overview())

    return Starlette(
        routes=[
            Route("/ambassador/v0/check_alive", check_alive),
            Route("/ambassador/v0/check_ready", check_ready),
            Route("/ambassador/v0/diag/", diag),
        ]
    )
