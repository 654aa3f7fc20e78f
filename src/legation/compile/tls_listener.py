"""The HTTPS listener of Hosts that terminate TLS: one filter chain per certificate.

Each chain matches the SNI names of the Hosts using its certificate with the same TLS
parameters (a `*` Host makes it the catch-all chain); ALPN defaults to h2 and
http/1.1, so HTTP/2 and gRPC work.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from legation.compile.hosts import CompiledHost
from legation.compile.tls_contexts import TlsChoice
from legation.ir.listeners import (
    ChainMatch,
    DownstreamTls,
    FilterChain,
    HttpConnectionManager,
    Listener,
)


def https_listener(
    hosts: Sequence[CompiledHost], port: int, address: str, cleartext: HttpConnectionManager
) -> Listener | None:
    """The HTTPS listener on `port`, or None when no Host terminates TLS.

    Its connection manager is `cleartext`'s with the HTTPS route configuration.
    """
    names: dict[tuple[str, TlsChoice], set[str]] = defaultdict(set)
    for host in hosts:
        if host.secret is not None:
            names[(host.secret, host.tls)].add(host.hostname)
    if not names:
        return None
    manager = dataclasses.replace(
        cleartext, route_config=f"https-{port}", stat_prefix=f"https_{port}"
    )
    per_secret = defaultdict(list)
    for secret, choice in names:
        per_secret[secret].append(choice)
    chains = []
    # SNI chains first, the catch-all last; a certificate used with several TLS settings
    # gets a chain per setting, named after the TLSContext
    for secret, choice in sorted(names, key=lambda k: ("*" in names[k], k[0], repr(k[1]))):
        hostnames = names[(secret, choice)]
        server_names = () if "*" in hostnames else tuple(sorted(hostnames))
        alone = len(per_secret[secret]) == 1
        name = secret if alone else f"{secret}+{choice.context or 'host-defaults'}"
        tls = chain_tls(secret, choice, choice.alpn_protocols)
        chains.append(FilterChain(name, ChainMatch(server_names), tls, http=manager))
    return Listener(f"https-{port}", address, port, tuple(chains))


def chain_tls(secret: str, choice: TlsChoice, alpn: tuple[str, ...]) -> DownstreamTls:
    """A filter chain's TLS: certificate `secret`, `choice`'s settings, ALPN `alpn`."""
    return DownstreamTls(
        (secret,),
        alpn,
        choice.min_version,
        choice.max_version,
        choice.cipher_suites,
        choice.ecdh_curves,
        choice.client_ca,
        choice.cert_required,
    )
