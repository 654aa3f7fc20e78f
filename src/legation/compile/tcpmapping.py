"""TCPMappings → TCP proxy filter chains: one (weighted) chain per port and SNI host.

TCPMappings on the same port and host form a weighted group, like a canary group of
Mappings: explicit `weight`s are kept and one unweighted member takes the rest. Where
the chains go depends on the port (`TcpPorts`): a listener of their own (`tcp-PORT`);
the listener of a TCP / TLS Listener resource on that port; or, for chains with a
`host`, the HTTPS listener of that port, next to the Hosts' chains. A chain with a
`host` terminates TLS when some Host or TLSContext has a certificate for it
(compile/tcp_tls.py), else passes TLS through. Errors, on the later resource (by
source order): two unweighted TCPMappings on one port and host, an HTTP port, a port
serving HTTPS without `host`, a second bind address for a port.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from legation.compile.canary import split_weights
from legation.compile.control_ports import control_port_error
from legation.compile.listeners import CompiledListener
from legation.compile.service import ServiceError, cluster_for, parse_service
from legation.compile.tcp_tls import TcpTermination, Termination
from legation.compile.upstream_tls import UpstreamTlsResolver
from legation.ir.clusters import Cluster
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.listeners import ChainMatch, FilterChain, Listener
from legation.ir.tcp import TcpProxy, TcpTarget
from legation.model.resource import Resource
from legation.model.tcpmapping import TCP_NOT_YET_IMPLEMENTED, TCPMappingSpec


@dataclass(frozen=True, slots=True)
class TcpPorts:
    """The gateway's HTTP ports and TCP Listeners, as TCPMappings see them."""

    http: Mapping[int, str] = field(default_factory=dict)
    """Ports serving HTTP without TLS → what they are: a TCPMapping there is an error."""
    https: Mapping[int, str] = field(default_factory=dict)
    """Ports serving HTTPS → what they are: a TCPMapping with `host` adds its chain to
    that listener; one without `host` is an error."""
    listeners: Mapping[int, CompiledListener] = field(default_factory=dict)
    """TCP and TLS Listener resources by port: TCPMappings on the port use them."""


@dataclass
class TcpResult:
    """What the TCPMappings contribute: listeners, chains for HTTPS listeners, clusters."""

    listeners: list[Listener] = field(default_factory=list)
    shared: dict[int, list[FilterChain]] = field(default_factory=dict)
    """SNI chains to put on the HTTPS listener of each port (before the Hosts' chains)."""
    owners: dict[tuple[int, str], tuple[str, str | None]] = field(default_factory=dict)
    """(HTTPS port, SNI) → (primary TCPMapping, key of the certificate's provider)."""
    clusters: list[Cluster] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Member:
    res: Resource[TCPMappingSpec]
    cluster: Cluster


_Groups = dict[int, dict[str | None, list[_Member]]]


def _notices(res: Resource[TCPMappingSpec]) -> list[ConfigProblem]:
    return [
        res.problem(name, "accepted but not implemented yet; it has no effect", notice=True)
        for name in TCP_NOT_YET_IMPLEMENTED
        if getattr(res.spec, name) is not None
    ]


def _by_source(res: Resource[TCPMappingSpec]) -> tuple[str, int, int, str]:
    return (res.source.location, res.source.line or 0, res.source.document or 0, res.key)


def _port_error(
    res: Resource[TCPMappingSpec], ports: TcpPorts, address: str
) -> tuple[str, str] | None:
    """(field, message) saying why the TCPMapping cannot use its port, or None."""
    spec = res.spec
    if spec.port in ports.http:
        return "port", f"port {spec.port} is {ports.http[spec.port]}"
    listener = ports.listeners.get(spec.port)
    owner = ports.https.get(spec.port) or (f"the port of {listener.key}" if listener else None)
    if owner is not None and spec.address not in (None, address):
        return "address", (
            f"port {spec.port} is {owner}, bound to {address} (the gateway's listen "
            f"address); a TCPMapping there cannot bind {spec.address}"
        )
    if spec.port in ports.https and spec.host is None:
        return "port", (
            f"port {spec.port} is {ports.https[spec.port]}; only a TCPMapping with `host` "
            "(the SNI its connections carry) can share it"
        )
    if listener is not None and spec.host is not None and not listener.tls:
        return "port", (
            f"port {spec.port} is the port of {listener.key}, which has no TLS in its "
            "protocol stack; `host` matches the SNI of TLS (use protocol TLS)"
        )
    return None


def _chain(
    name: str, host: str | None, members: Sequence[_Member], termination: Termination | None
) -> FilterChain:
    ordered = sorted(members, key=lambda m: (m.res.spec.weight is not None, m.res.key))
    weights = split_weights([m.res.spec.weight for m in ordered])
    targets = tuple(
        TcpTarget(m.cluster.name, w, m.res.key)
        for m, w in zip(ordered, weights, strict=True)
        if w > 0  # Envoy's tcp_proxy refuses zero weights
    )
    primary = ordered[0].res
    stat = name + (f"_{host}" if host else "")
    proxy = TcpProxy(stat.replace(".", "_"), targets, primary.spec.idle_timeout_ms, primary.source)
    match = ChainMatch(server_names=(host,) if host else ())
    tls = termination.tls if termination is not None else None
    return FilterChain(name=host or "default", match=match, tls=tls, tcp=proxy)


class _Placer:
    """Checks each TCPMapping and puts it in its (port, host) group."""

    def __init__(
        self,
        listen_address: str,
        ports: TcpPorts,
        termination: TcpTermination | None,
        result: TcpResult,
    ) -> None:
        self.address = listen_address
        self.ports = ports
        self.termination = termination
        self.result = result
        self.groups: _Groups = defaultdict(lambda: defaultdict(list))
        self.bind: dict[int, tuple[str, str]] = {}
        self.tls: dict[tuple[int, str], Termination | None] = {}

    def _fail(self, res: Resource[TCPMappingSpec], name: str, message: str) -> bool:
        self.result.problems.append(res.problem(name, message))
        return False

    def admit(self, res: Resource[TCPMappingSpec]) -> bool:
        """Whether the TCPMapping can join its group (an error when it cannot)."""
        spec = res.spec
        refused = _port_error(res, self.ports, self.address)
        if refused is not None:
            return self._fail(res, *refused)
        wanted = spec.address or self.address
        claimed = self.bind.setdefault(spec.port, (wanted, res.key))
        if claimed[0] != wanted:
            message = f"port {spec.port} is already bound to {claimed[0]} by {claimed[1]}"
            return self._fail(res, "address", message)
        host = spec.host.lower() if spec.host else None
        group = self.groups.get(spec.port, {}).get(host, [])
        unweighted = [m for m in group if m.res.spec.weight is None]
        if spec.weight is None and unweighted:
            on = f"port {spec.port}" + (f" host {host}" if host else "")
            message = (
                f"{on} is already proxied by {unweighted[0].res.key}; give each TCPMapping "
                "a weight to split connections between them"
            )
            return self._fail(res, "port", message)
        return host is None or self._terminate(res, spec.port, host)

    def add(self, res: Resource[TCPMappingSpec], cluster: Cluster) -> None:
        """Put an admitted TCPMapping in its group."""
        host = res.spec.host.lower() if res.spec.host else None
        self.groups[res.spec.port][host].append(_Member(res, cluster))

    def _terminate(self, res: Resource[TCPMappingSpec], port: int, host: str) -> bool:
        """Find the group's certificate once; a notice when TLS is passed through."""
        if (port, host) not in self.tls:
            found = self.termination.for_sni(host) if self.termination else None
            if isinstance(found, str):
                return self._fail(res, "host", f"certificate for {host!r}: {found}; left out")
            self.tls[(port, host)] = found
            if found is None:
                message = (
                    f"no Host or TLSContext has a certificate for {host!r}: TLS connections "
                    "with that SNI are passed through to the service as they are"
                )
                self.result.problems.append(res.problem("host", message, notice=True))
        return True


def _build(placer: _Placer) -> None:
    """Each port's chains: SNI hosts first, the catch-all last, on the right listener."""
    result, ports = placer.result, placer.ports
    for port in sorted(placer.groups):
        by_host = placer.groups[port]
        hosts: list[str | None] = [*sorted(h for h in by_host if h is not None)]
        if None in by_host:
            hosts.append(None)
        listener = ports.listeners.get(port)
        prefix = listener.stats_prefix if listener is not None else f"tcp_{port}"
        chains = []
        for host in hosts:
            termination = placer.tls.get((port, host)) if host is not None else None
            chain = _chain(prefix, host, by_host[host], termination)
            if port in ports.https:
                assert host is not None
                chain = dataclasses.replace(
                    chain, match=dataclasses.replace(chain.match, transport_protocol="tls")
                )
                provider = termination.provider if termination is not None else None
                result.owners[(port, host)] = (by_host[host][0].res.key, provider)
            chains.append(chain)
        if port in ports.https:
            result.shared[port] = chains
        elif listener is not None:
            result.listeners.append(
                Listener(
                    f"listener-{port}",
                    placer.address,
                    port,
                    tuple(chains),
                    proxy_protocol=listener.proxy_protocol,
                )
            )
        else:
            result.listeners.append(
                Listener(f"tcp-{port}", placer.bind[port][0], port, tuple(chains))
            )


def _unused_listeners(ports: TcpPorts, used: Collection[int]) -> list[ConfigProblem]:
    message = "no TCPMapping uses this Listener's port, so it listens nowhere"
    return [
        ConfigProblem(li.source, li.key, message, severity=Severity.NOTICE)
        for port, li in sorted(ports.listeners.items())
        if port not in used
    ]


def compile_tcp_mappings(
    resources: Sequence[Resource[TCPMappingSpec]],
    listen_address: str,
    ports: TcpPorts,
    control_ports: Collection[int] = (),
    local_names: Collection[str] = (),
    upstream_tls: UpstreamTlsResolver | None = None,
    termination: TcpTermination | None = None,
) -> TcpResult:
    """Check every TCPMapping, group them by port and host, and build their chains.

    A `service` on one of the gateway's `control_ports` at a local address (see
    `control_ports.control_port_error`) is an error. `upstream_tls` resolves `tls`
    (TLS to the service, on port 443 by default); `termination` finds the certificate
    for a `host`.
    """
    result = TcpResult()
    placer = _Placer(listen_address, ports, termination, result)
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
        if not placer.admit(res):
            continue
        cluster: Cluster | None = cluster_for(address, spec.service, None)
        if upstream_tls is not None and cluster is not None:
            cluster, problems = upstream_tls.originate(res, cluster, address)
            result.problems.extend(problems)
        if cluster is not None:
            placer.add(res, cluster)
    _build(placer)
    result.problems.extend(_unused_listeners(ports, placer.groups))
    clusters: dict[str, tuple[Cluster, list[str]]] = {}
    for by_host in placer.groups.values():
        for members in by_host.values():
            for m in members:
                clusters.setdefault(m.cluster.name, (m.cluster, []))[1].append(m.res.key)
    for name in sorted(clusters):
        cluster, users = clusters[name]
        result.clusters.append(dataclasses.replace(cluster, mappings=tuple(sorted(users))))
    return result
