"""How uvicorn serves the diagnostics app: with the socket's peer as the client."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette


def server_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    """uvicorn settings for the diagnostics port.

    `proxy_headers` stays off: uvicorn would otherwise take the client address from
    `X-Forwarded-For` whenever the peer is 127.0.0.1 — and Envoy is on loopback, so
    any client of the HTTP listener could claim to be local. Access is decided by the
    socket's peer address alone (see `access`).
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        forwarded_allow_ips=[],
        server_header=False,
    )
