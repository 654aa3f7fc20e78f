"""What each Listener resource becomes: a route configuration and an IR listener.

The route configuration follows the Listener's `securityModel`, as Emissary builds it:
SECURE routes every request as over TLS, INSECURE applies each Host's insecure action to
every request, and XFP puts, per Host, the secure routes (matching
`X-Forwarded-Proto: https`) before the insecure ones (matching any request). Envoy
writes `X-Forwarded-Proto` from the connection unless `l7Depth` trusts proxies in front,
so under XFP a TLS connection is secure and a cleartext one is not.

A Listener with TLS in its stack gets one SNI chain per certificate of the Hosts it
takes (as the default HTTPS listener) and a cleartext chain for the same port; the SNI
chains of TCPMappings on its port come first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from legation.compile.host_routes import HostRouteMemo, MappingLabels, host_virtual_hosts
from legation.compile.hosts import CompiledHost
from legation.compile.listeners import CompiledListener, HostMeta
from legation.compile.precedence import virtual_hosts
from legation.compile.tls_listener import https_listener
from legation.ir.gateway import RouteConfig, VirtualHost
from legation.ir.listeners import ChainMatch, FilterChain, HttpConnectionManager, Listener
from legation.ir.routes import HeaderMatch, Route

XFP = "x-forwarded-proto"


class XfpMemo:
    """Reuses the `X-Forwarded-Proto: https` copies of routes while the originals are the
    very same objects, so the translator's identity caches keep working."""

    def __init__(self) -> None:
        self._old: dict[int, tuple[Route, Route]] = {}
        self._new: dict[int, tuple[Route, Route]] = {}

    def start(self) -> None:
        """Begin a compile: copies the previous compile did not use are dropped."""
        self._old, self._new = self._new, {}

    def secure(self, route: Route) -> Route:
        """The route, taking only requests with `X-Forwarded-Proto: https`."""
        hit = self._new.get(id(route)) or self._old.get(id(route))
        if hit is None or hit[0] is not route:
            kept = [h for h in route.match.headers if h.name.lower() != XFP]
            headers = tuple(sorted((*kept, HeaderMatch(XFP, "https")), key=repr))
            hit = (
                route,
                dataclasses.replace(route, match=dataclasses.replace(route.match, headers=headers)),
            )
        self._new[id(route)] = hit
        return hit[1]


def route_config_name(listener: CompiledListener) -> str:
    """The RDS name of a Listener's routes."""
    return f"listener-{listener.port}"


def taken_hosts(
    listener: CompiledListener, hosts: Sequence[CompiledHost], meta: Mapping[str, HostMeta]
) -> list[CompiledHost]:
    """The Hosts the Listener's hostBinding takes."""
    return [h for h in hosts if listener.takes(h, meta.get(h.key))]


def listener_route_config(
    listener: CompiledListener,
    hosts: Sequence[CompiledHost] | None,
    routes: Sequence[Route],
    labels: Mapping[str, MappingLabels],
    memo: HostRouteMemo,
    xfp: XfpMemo,
) -> RouteConfig:
    """The routes of an HTTP Listener; `hosts` None means there are no Host resources
    (every Mapping on every host, routed as is, like Emissary's default Host)."""
    name = route_config_name(listener)
    if hosts is None:
        return RouteConfig(name, virtual_hosts(routes))
    if listener.security != "XFP":
        cleartext = listener.security == "INSECURE"
        return RouteConfig(name, host_virtual_hosts(hosts, routes, labels, cleartext, memo))
    secure = host_virtual_hosts(hosts, routes, labels, cleartext=False, memo=memo)
    insecure = host_virtual_hosts(hosts, routes, labels, cleartext=True, memo=memo)
    merged = [_xfp_merge(s, i, xfp) for s, i in zip(secure, insecure, strict=True)]
    return RouteConfig(name, tuple(merged))


def _xfp_merge(secure: VirtualHost, insecure: VirtualHost, xfp: XfpMemo) -> VirtualHost:
    routes = tuple(xfp.secure(r) for r in secure.routes) + insecure.routes
    return dataclasses.replace(secure, routes=routes)


def listener_ir(
    listener: CompiledListener,
    hosts: Sequence[CompiledHost],
    base: HttpConnectionManager,
    address: str,
    buffer_limit_bytes: int | None,
    proxy_protocol: bool,
    tcp_chains: Sequence[FilterChain] = (),
) -> Listener:
    """The IR listener of an HTTP Listener: the SNI chains of TCPMappings on its port
    (`tcp_chains`), TLS chains (when its stack has TLS and some Host it takes has a
    certificate), then the cleartext chain."""
    depth = listener.l7_depth
    manager = dataclasses.replace(
        base,
        route_config=route_config_name(listener),
        stat_prefix=listener.stats_prefix,
        xff_num_trusted_hops=base.xff_num_trusted_hops if depth is None else depth,
    )
    tls = https_listener(hosts, listener.port, address, manager) if listener.tls else None
    chains = list(tcp_chains)
    for chain in tls.filter_chains if tls is not None else ():
        match = dataclasses.replace(chain.match, transport_protocol="tls")
        chains.append(dataclasses.replace(chain, match=match, http=manager))
    if chains:
        cleartext = FilterChain(
            "cleartext", ChainMatch(transport_protocol="raw_buffer"), http=manager
        )
    else:
        cleartext = FilterChain(http=manager)
    return Listener(
        f"listener-{listener.port}",
        address,
        listener.port,
        (*chains, cleartext),
        buffer_limit_bytes=buffer_limit_bytes,
        proxy_protocol=proxy_protocol or listener.proxy_protocol,
    )
