"""Who may see what on the diagnostics port.

Probes and `/metrics` answer anyone (the kubelet and Prometheus are not on loopback,
and they name the pod by its IP). The read-only views answer loopback clients, and
others only when the ambassador Module says `diagnostics: {allow_non_local: true}`.
Changing log levels is for loopback clients only.

Who the client is comes from the socket's peer address alone, never from headers
(`X-Forwarded-For` and the like are ignored: uvicorn runs with `proxy_headers` off).

The views and the log-level endpoint also check the `Host` header, so a web page
whose DNS name is rebound to 127.0.0.1 (DNS rebinding) cannot read them: the Host
must be `localhost`, an IP address literal (a browser only sends one to the very
address it loaded the page from, so it cannot be a rebound name), or a name given
with `--diag-allowed-host`. The log-level endpoint changes state, so it also needs
an `Origin` header naming this very host: browsers send one with every POST, and a
page of another site cannot forge it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.requests import Request

from legation.diag.state import DiagSettings


def is_loopback(request: Request) -> bool:
    """True when the socket's peer is a loopback address (127/8, ::1)."""
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def may_view(request: Request, settings: DiagSettings, *, force_allow: bool = False) -> bool:
    """May this client see the read-only views?"""
    if is_loopback(request):
        return True
    return force_allow or (settings.enabled and settings.allow_non_local)


def host_name(host_header: str) -> str | None:
    """The name part of a `Host` value (`name`, `name:port`, `[v6]:port`), lowercased;
    None when it is malformed."""
    value = host_header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[1:end], value[end + 1 :]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    return name.rstrip(".") or None


def host_allowed(request: Request, allowed_names: Collection[str] = ()) -> bool:
    """Does the request's `Host` name this gateway (see the module's docstring)?"""
    name = host_name(request.headers.get("host", ""))
    if name is None:
        return False
    if name == "localhost" or name in allowed_names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def same_origin(request: Request) -> bool:
    """True only when the request says it comes from a page of this very host.

    Needs an `Origin` (`http://` or `https://` plus exactly the `Host` header); a
    `Sec-Fetch-Site` other than `same-origin` or `none` is refused as well. Clients
    that are not browsers (curl, `legation loglevel`) send the Origin themselves.
    """
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if not origin or not host:
        return False
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    parts = urlsplit(origin)
    return (
        parts.scheme in ("http", "https")
        and parts.netloc.lower() == host.strip().lower()
        and parts.path in ("", "/")
        and not parts.query
    )
