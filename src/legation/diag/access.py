"""Who may see what on the diagnostics port.

Probes and `/metrics` answer anyone (the kubelet and Prometheus are not on loopback).
The read-only views answer loopback clients, and others only when the ambassador
Module says `diagnostics: {allow_non_local: true}`. Changing log levels is for
loopback clients only, and never from a page of another origin.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.requests import Request

from legation.diag.state import DiagSettings


def is_loopback(request: Request) -> bool:
    """True when the client's address is a loopback address (127/8, ::1)."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def may_view(request: Request, settings: DiagSettings, *, force_allow: bool = False) -> bool:
    """May this client see the read-only views?"""
    if is_loopback(request):
        return True
    return force_allow or (settings.enabled and settings.allow_non_local)


def same_origin(request: Request) -> bool:
    """False when a browser says the request comes from a page of another site.

    Guards the one state-changing endpoint against cross-site form posts; clients
    that send no `Origin` (curl, the CLI) are fine.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin") in (
            "same-origin",
            "none",
        )
    return urlsplit(origin).netloc == request.headers.get("host", "")
