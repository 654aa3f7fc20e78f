"""Listener resources: each checked on its own, and the Hosts each one takes.

A bad Listener (neither or both of `protocol` and `protocolStack`, a stack that does
not end in TCP, UDP, a port another Listener holds) is an error on that Listener and is
left out; the others listen on. A Host that no Listener takes is not served (a notice,
as Emissary drops it silently).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from legation.compile.hosts import CompiledHost
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.model.listener import PROTOCOL_STACKS, ListenerSpec
from legation.model.resource import Resource


@dataclass(frozen=True, slots=True)
class HostMeta:
    """What host binding reads from a Host resource."""

    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CompiledListener:
    """One valid Listener."""

    key: str
    namespace: str
    port: int
    stack: tuple[str, ...]
    """Protocol layers, outermost first (always ending in TCP)."""
    security: str
    """XFP, SECURE or INSECURE."""
    all_namespaces: bool
    """`hostBinding.namespace.from: ALL` (or no namespace binding but a selector)."""
    selector: tuple[tuple[str, str], ...] | None
    """`hostBinding.selector.matchLabels`, sorted; None when unset."""
    l7_depth: int | None
    stats_prefix: str
    source: Source

    @property
    def http(self) -> bool:
        """Carries HTTP (gets a connection manager and the Hosts' routes)."""
        return "HTTP" in self.stack

    @property
    def tls(self) -> bool:
        """Terminates TLS (also serves cleartext on the same port, as Emissary does)."""
        return "TLS" in self.stack

    @property
    def proxy_protocol(self) -> bool:
        """Connections start with a PROXY protocol header."""
        return "PROXY" in self.stack

    def takes(self, host: CompiledHost, meta: HostMeta | None) -> bool:
        """True when the host binding selects this Host (namespace and labels)."""
        if meta is None:
            return False
        if not self.all_namespaces and meta.namespace != self.namespace:
            return False
        return self.selector is None or all(meta.labels.get(k) == v for k, v in self.selector)


@dataclass
class ListenerResult:
    """Valid Listeners (by port) and the problems found."""

    listeners: list[CompiledListener] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def _stack(res: Resource[ListenerSpec]) -> tuple[str, ...] | ConfigProblem:
    spec = res.spec
    if spec.protocol is not None and spec.protocolStack is not None:
        return res.problem("protocol", "set either protocol or protocolStack, not both")
    if spec.protocol is not None and "UDP" in PROTOCOL_STACKS[spec.protocol]:
        return res.problem("protocol", "UDP (HTTP/3) is not supported")
    if spec.protocol is not None:
        return PROTOCOL_STACKS[spec.protocol]
    if not spec.protocolStack:
        return res.problem("protocol", "one of protocol and protocolStack is required")
    stack = tuple(spec.protocolStack)
    if "UDP" in stack:
        return res.problem("protocolStack", "UDP (HTTP/3) is not supported")
    if stack[-1] != "TCP" or stack.count("TCP") != 1 or len(set(stack)) != len(stack):
        message = f"{list(stack)} is not a protocol stack: each layer once, ending in TCP"
        return res.problem("protocolStack", message)
    return stack


def _stats_prefix(spec: ListenerSpec, stack: tuple[str, ...]) -> str:
    """Emissary's defaults: ingress_http(s) for HTTP, ingress_tls_PORT, ingress_tcp_PORT."""
    if spec.statsPrefix:
        return spec.statsPrefix
    if "HTTP" in stack:
        return "ingress_https" if "TLS" in stack else "ingress_http"
    return f"ingress_tls_{spec.port}" if "TLS" in stack else f"ingress_tcp_{spec.port}"


def _compile_one(res: Resource[ListenerSpec]) -> CompiledListener | ConfigProblem:
    spec = res.spec
    stack = _stack(res)
    if isinstance(stack, ConfigProblem):
        return stack
    binding = spec.hostBinding
    if binding.namespace is None and binding.selector is None:
        message = "hostBinding needs namespace.from or selector (or both)"
        return res.problem("hostBinding", message)
    if binding.namespace is not None and binding.namespace.from_ == "SELECTOR":
        message = "from: SELECTOR is not supported (as in Emissary); use SELF or ALL"
        return res.problem("hostBinding.namespace.from", message)
    selector = None
    if binding.selector is not None:
        if binding.selector.matchLabels is None:
            message = "only matchLabels is supported in a Listener's host selector"
            return res.problem("hostBinding.selector", message)
        selector = tuple(sorted(binding.selector.matchLabels.items()))
    everywhere = binding.namespace is None or binding.namespace.from_ == "ALL"
    return CompiledListener(
        res.key,
        res.namespace,
        spec.port,
        stack,
        spec.securityModel,
        everywhere,
        selector,
        spec.l7Depth,
        _stats_prefix(spec, stack),
        res.source,
    )


def _by_source(res: Resource[ListenerSpec]) -> tuple[str, int, int, str]:
    return (res.source.location, res.source.line or 0, res.source.document or 0, res.key)


def compile_listeners(resources: Sequence[Resource[ListenerSpec]]) -> ListenerResult:
    """Check every Listener; the first (by source) to claim a port keeps it."""
    result = ListenerResult()
    ports: dict[int, str] = {}
    for res in sorted(resources, key=_by_source):
        compiled = _compile_one(res)
        if isinstance(compiled, ConfigProblem):
            result.problems.append(compiled)
            continue
        other = ports.setdefault(compiled.port, res.key)
        if other != res.key:
            message = f"port {compiled.port} is already the port of {other}; left out"
            result.problems.append(res.problem("port", message))
            continue
        result.listeners.append(compiled)
    result.listeners.sort(key=lambda li: li.port)
    return result


def unbound_hosts(
    listeners: Sequence[CompiledListener],
    hosts: Sequence[CompiledHost],
    meta: Mapping[str, HostMeta],
) -> list[ConfigProblem]:
    """A notice for each Host that no HTTP Listener takes: it is not served."""
    out = []
    http = [li for li in listeners if li.http]
    for host in hosts:
        if not any(li.takes(host, meta.get(host.key)) for li in http):
            message = (
                "no Listener's hostBinding takes this Host (namespace and selector), so it "
                "is not served"
            )
            out.append(ConfigProblem(host.source, host.key, message, severity=Severity.NOTICE))
    return out
