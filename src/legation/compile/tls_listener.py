"""The HTTPS listener of Hosts that terminate TLS: one filter chain per certificate.

Each chain matches the SNI names of the Hosts using its certificate (a `*` Host makes
it the catch-all chain) and offers ALPN h2 and http/1.1, so HTTP/2 and gRPC work.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from legation.compile.hosts import CompiledHost
from legation.ir.listeners import (
    ChainMatch,
    DownstreamTls,
    FilterChain,
    HttpConnectionManager,
    Listener,
)

ALPN = ("h2", "http/1.1")
"""Offered on every HTTPS chain, preferred first."""


def https_listener(
    hosts: Sequence[CompiledHost], port: int, address: str, cleartext: HttpConnectionManager
) -> Listener | None:
    """The HTTPS listener on `port`, or None when no Host terminates TLS.

    Its connection manager is `cleartext`'s with the HTTPS route configuration.
    """
    names: dict[str, set[str]] = defaultdict(set)
    for host in hosts:
        if host.secret is not None:
            names[host.secret].add(host.hostname)
    if not names:
        return None
    manager = dataclasses.replace(
        cleartext, route_config=f"https-{port}", stat_prefix=f"https_{port}"
    )
    chains = []
    for secret in sorted(names, key=lambda s: ("*" in names[s], s)):  # catch-all last
        server_names = () if "*" in names[secret] else tuple(sorted(names[secret]))
        chains.append(
            FilterChain(
                name=secret,
                match=ChainMatch(server_names=server_names),
                tls=DownstreamTls((secret,), ALPN),
                http=manager,
            )
        )
    return Listener(f"https-{port}", address, port, tuple(chains))
