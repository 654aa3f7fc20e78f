"""TCPMappings → one listener per port, one (weighted) TCP proxy chain per SNI host.

TCPMappings on the same port and host form a weighted group, like a canary group of
Mappings: explicit `weight`s are kept and one unweighted member takes the rest. Two
unweighted TCPMappings on one port and host, a port equal to the HTTP port, or a
second bind address for a port are errors on the later resource (by source order).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from legation.compile.canary import split_weights
from legation.compile.control_ports import control_port_error
from legation.compile.service import ServiceError, cluster_for, parse_service
from legation.compile.upstream_tls import UpstreamTlsResolver
from legation.ir.clusters import Cluster
from legation.ir.errors import ConfigProblem
from legation.ir.listeners import ChainMatch, FilterChain, Listener
from legation.ir.tcp import TcpProxy, TcpTarget
from legation.model.resource import Resource
from legation.model.tcpmapping import TCP_NOT_YET_IMPLEMENTED, TCPMappingSpec


@dataclass
class TcpResult:
    """What the TCPMappings contribute: listeners, clusters and problems."""

    listeners: list[Listener] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Member:
    res: Resource[TCPMappingSpec]
    cluster: Cluster


def _notices(res: Resource[TCPMappingSpec]) -> list[ConfigProblem]:
    out = [
        res.problem(name, "accepted but not implemented yet; it has no effect", notice=True)
        for name in TCP_NOT_YET_IMPLEMENTED
        if getattr(res.spec, name) is not None
    ]
    if res.spec.host is not None:
        out.append(
            res.problem(
                "host",
                "legation does not terminate TLS yet: `host` matches the SNI of TLS "
                "connections, which are passed through to the service as they are",
                notice=True,
            )
        )
    return out


def _by_source(res: Resource[TCPMappingSpec]) -> tuple[str, int, int, str]:
    return (res.source.location, res.source.line or 0, res.source.document or 0, res.key)


def _chain(port: int, host: str | None, members: Sequence[_Member]) -> FilterChain:
    ordered = sorted(members, key=lambda m: (m.res.spec.weight is not None, m.res.key))
    weights = split_weights([m.res.spec.weight for m in ordered])
    targets = tuple(
        TcpTarget(m.cluster.name, w, m.res.key)
        for m, w in zip(ordered, weights, strict=True)
        if w > 0  # Envoy's tcp_proxy refuses zero weights
    )
    primary = ordered[0].res
    stat = f"tcp_{port}" + (f"_{host}" if host else "")
    proxy = TcpProxy(stat.replace(".", "_"), targets, primary.spec.idle_timeout_ms, primary.source)
    match = ChainMatch(server_names=(host,) if host else ())
    return FilterChain(name=host or "default", match=match, tcp=proxy)


def compile_tcp_mappings(
    resources: Sequence[Resource[TCPMappingSpec]],
    http_port: int,
    listen_address: str,
    control_ports: Collection[int] = (),
    local_names: Collection[str] = (),
    https_port: int | None = None,
    listener_ports: Collection[int] = (),
    upstream_tls: UpstreamTlsResolver | None = None,
) -> TcpResult:
    """Check every TCPMapping, group them by port and host, and build the listeners.

    `https_port` is the HTTPS listener's port when there is one (not for TCPMappings),
    `listener_ports` those of HTTP Listener resources.
    A `service` on one of the gateway's `control_ports` at a local address (see
    `control_ports.control_port_error`) is an error. `upstream_tls` resolves `tls`
    (TLS to the service, on port 443 by default).
    """
    result = TcpResult()
    groups: dict[int, dict[str | None, list[_Member]]] = defaultdict(lambda: defaultdict(list))
    bind: dict[int, tuple[str, str]] = {}
    for res in sorted(resources, key=_by_source):
        spec = res.spec
        result.problems.extend(_notices(res))
        try:
            address = parse_service(spec.service)
        except ServiceError as exc:
            result.problems.append(res.problem("service", str(exc)))
            continue
        refused = control_port_error(address, control_ports, local_names)
        if refused is not None:
            result.problems.append(res.problem("service", refused))
            continue
        if spec.port in (http_port, https_port):
            which = "HTTP" if spec.port == http_port else "HTTPS"
            message = f"port {spec.port} is the {which} listener's port"
            result.problems.append(res.problem("port", message))
            continue
        if spec.port in listener_ports:
            message = f"port {spec.port} is the port of an HTTP Listener"
            result.problems.append(res.problem("port", message))
            continue
        wanted = spec.address or listen_address
        claimed = bind.setdefault(spec.port, (wanted, res.key))
        if claimed[0] != wanted:
            message = f"port {spec.port} is already bound to {claimed[0]} by {claimed[1]}"
            result.problems.append(res.problem("address", message))
            continue
        host = spec.host.lower() if spec.host else None
        group = groups[spec.port][host]
        unweighted = [m for m in group if m.res.spec.weight is None]
        if spec.weight is None and unweighted:
            on = f"port {spec.port}" + (f" host {host}" if host else "")
            message = (
                f"{on} is already proxied by {unweighted[0].res.key}; give each TCPMapping "
                "a weight to split connections between them"
            )
            result.problems.append(res.problem("port", message))
            continue
        cluster: Cluster | None = cluster_for(address, spec.service, None)
        if upstream_tls is not None and cluster is not None:
            cluster, problems = upstream_tls.originate(res, cluster, address)
            result.problems.extend(problems)
        if cluster is None:
            continue
        group.append(_Member(res, cluster))
    clusters: dict[str, tuple[Cluster, list[str]]] = {}
    for port in sorted(groups):
        by_host = groups[port]
        hosts = sorted(h for h in by_host if h is not None)
        chains = [_chain(port, h, by_host[h]) for h in hosts]
        if None in by_host:
            chains.append(_chain(port, None, by_host[None]))
        result.listeners.append(Listener(f"tcp-{port}", bind[port][0], port, tuple(chains)))
        for members in by_host.values():
            for m in members:
                clusters.setdefault(m.cluster.name, (m.cluster, []))[1].append(m.res.key)
    for name in sorted(clusters):
        cluster, users = clusters[name]
        result.clusters.append(dataclasses.replace(cluster, mappings=tuple(sorted(users))))
    return result
