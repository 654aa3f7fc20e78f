"""Refuse upstreams that are the gateway's own control ports.

A Mapping or TCPMapping whose `service` is a local address (loopback, the
unspecified address, `localhost`, or one of the gateway's own names) on the
diagnostics port, or on Envoy's admin or xDS port when those are TCP, would hand
every client of the public listener the gateway's control interfaces: Envoy's
admin (config dump, POST endpoints), the xDS stream, or the diagnostics with Envoy
as a loopback peer. Such a resource is an error on its `service` field.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Collection

from legation.compile.service import ServiceAddress
from legation.ir.endpoints import LoadAssignment

DEFAULT_DIAG_PORT = 8877
"""The diagnostics port when nothing else is said (as Ambassador users know it)."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`host` as an IP address, including the short and numeric IPv4 forms that the
    C resolver accepts (`127.1`, `2130706433`, `0x7f.1`); None for a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            # inet_aton only parses the text (no lookup); it accepts every IPv4 spelling
            # getaddrinfo would, so `127.1` cannot slip past as a "name".
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_local_host(host: str, own_names: Collection[str] = ()) -> bool:
    """True when `host` reaches this machine: loopback (127/8, ::1), the unspecified
    address (0.0.0.0, ::), `localhost` (and `*.localhost`), or one of `own_names`."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if name in {n.lower().rstrip(".") for n in own_names}:
        return True
    ip = _ip(name)
    return ip is not None and (ip.is_loopback or ip.is_unspecified)


def control_port_error(
    address: ServiceAddress, control_ports: Collection[int], own_names: Collection[str] = ()
) -> str | None:
    """Why `address` may not be an upstream (it is one of this gateway's control
    ports on a local address), or None when it may."""
    if address.port not in control_ports or not is_local_host(address.host, own_names):
        return None
    host = f"[{address.host}]" if ":" in address.host else address.host
    return (
        f"{host}:{address.port} is this gateway's own control port "
        f"(diagnostics, Envoy admin or xDS); routing to it would give every client of the "
        f"listener the gateway's control interfaces. Point `service` at an upstream service"
    )


def without_control_endpoints(
    assignment: LoadAssignment, control_ports: Collection[int], own_names: Collection[str] = ()
) -> tuple[LoadAssignment, list[str]]:
    """`assignment` without endpoints on the gateway's own control ports (an Endpoints
    object written by hand can list 127.0.0.1), and the reason for each one left out."""
    kept, reasons = [], []
    for ep in assignment.endpoints:
        reason = control_port_error(
            ServiceAddress(ep.address, ep.port, False), control_ports, own_names
        )
        if reason is None:
            kept.append(ep)
        else:
            reasons.append(f"endpoint of Service {assignment.service} left out: {reason}")
    if not reasons:
        return assignment, []
    return dataclasses.replace(assignment, endpoints=tuple(kept)), reasons
