"""compile(): raw documents → IR. Reads as a table of contents of named steps."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from legation.compile.auth import compile_auth
from legation.compile.clusters import ClusterMemo
from legation.compile.control_ports import (
    DEFAULT_DIAG_PORT,
    control_port_error,
    without_control_endpoints,
)
from legation.compile.endpoints import load_assignments
from legation.compile.filter_policy import compile_policies
from legation.compile.groups import GroupChanges, GroupMemo
from legation.compile.host_routes import (
    HostRouteMemo,
    host_virtual_hosts,
    mapping_labels,
    unserved,
)
from legation.compile.hosts import CompiledHost, HostResult, compile_hosts
from legation.compile.http_settings import http_filter_settings, http_settings
from legation.compile.ingress import ingress_mappings
from legation.compile.ingress_tls import IngressTls, ingress_tls_hosts
from legation.compile.jwt_filters import compile_jwt_filters
from legation.compile.jwt_routes import JwtRouteMemo, decide_routes, jwt_authn_for, with_jwt
from legation.compile.listener_chains import (
    XfpMemo,
    listener_ir,
    listener_route_config,
    taken_hosts,
)
from legation.compile.listeners import CompiledListener, HostMeta, compile_listeners, unbound_hosts
from legation.compile.mapping import CompiledMapping, compile_mapping
from legation.compile.module import access_log_settings, mapping_field_defaults, module_settings
from legation.compile.oauth2 import compile_oauth2
from legation.compile.oauth2_routes import decide_logins, used_logins
from legation.compile.observability import compile_log_services, compile_tracing
from legation.compile.precedence import VirtualHostMemo, virtual_hosts
from legation.compile.ratelimit import compile_ratelimit
from legation.compile.resolver import EndpointRequest, ResolverMemo, resolver_kinds
from legation.compile.service import ServiceAddress, parse_service
from legation.compile.tcp_tls import TcpTermination, sni_conflicts
from legation.compile.tcpmapping import TcpPorts, compile_tcp_mappings
from legation.compile.tls_contexts import TlsContexts, compile_tls_contexts
from legation.compile.tls_listener import https_listener
from legation.compile.tls_module import tls_module_resources
from legation.compile.tls_secrets import SecretLookup
from legation.compile.upstream_options import MappingDefaults
from legation.compile.upstream_tls import UpstreamTlsResolver
from legation.ir.auth import ExtAuthz
from legation.ir.clusters import Cluster
from legation.ir.endpoints import LoadAssignment
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.gateway import Gateway, RouteConfig
from legation.ir.listeners import FilterChain, HttpConnectionManager, Listener
from legation.ir.oauth2 import OAuth2Gateway
from legation.ir.observability import LogService, Tracing
from legation.ir.ratelimit import RateLimiting
from legation.ir.routes import Route
from legation.ir.secrets import Secret
from legation.memo import IndexMemo, ItemMemo, SortedMemo, flat, present
from legation.model.mapping import MappingSpec
from legation.model.module import ModuleConfig
from legation.model.oidc_discovery import Discovered
from legation.model.parse import ParseCache
from legation.model.raw import RawObject
from legation.model.resolver import RESOLVER_KINDS
from legation.model.resource import Resource
from legation.model.versions import DEFAULT_AMBASSADOR_ID, selects


@dataclass(frozen=True, slots=True)
class CompileOptions:
    """What the compiler needs to know about this gateway instance."""

    ambassador_id: str = DEFAULT_AMBASSADOR_ID
    http_port: int = 8080
    https_port: int = 8443
    """Where HTTPS is served when some Host terminates TLS (and there is no Listener)."""
    listen_address: str = "0.0.0.0"
    control_ports: frozenset[int] = frozenset({DEFAULT_DIAG_PORT})
    """The gateway's own TCP control ports (diagnostics; Envoy admin and xDS when they
    are TCP): a Mapping or TCPMapping to one of them on a local address is an error."""
    local_names: frozenset[str] = frozenset()
    """Names and addresses of this machine besides loopback and `localhost` (hostname,
    pod IP), for the control-port check."""
    bundled_limiter: str | None = None
    """`host:port` of the limiter `legation run --rate-limiter` started: the
    RateLimitService when no resource names one."""


@dataclass(frozen=True, slots=True)
class CompileResult:
    """The IR, every problem found, and the resources that made it in."""

    gateway: Gateway
    problems: tuple[ConfigProblem, ...]
    resources: tuple[Resource[Any], ...]
    """Every parsed resource selected for this gateway, valid or not, sorted by key."""

    @property
    def errors(self) -> tuple[ConfigProblem, ...]:
        """Only the problems that kept something out of the configuration."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)


class CompileCache:
    """Per-object memo across compiles, so one changed Mapping does not recompile all.

    Holding a cache keeps compile pure: the output is what a fresh compile would give
    (tests check this), only faster — except for one deliberate memory: which of two
    resources with the same key was live (`winners`), so a newcomer cannot displace it.
    """

    def __init__(self) -> None:
        self.parse = ParseCache()
        self.groups = GroupMemo()
        self.clusters = ClusterMemo()
        self.by_key: SortedMemo[Resource[Any]] = SortedMemo(_KEY)
        self.kinds: IndexMemo[Resource[Any]] = IndexMemo(operator.attrgetter("kind"))
        self.selected: ItemMemo[Resource[Any], bool] = ItemMemo()
        self.error_rules: ItemMemo[CompiledMapping, bool] = ItemMemo()
        self.host_routes = HostRouteMemo()
        self.resolvers = ResolverMemo()
        self.xfp = XfpMemo()
        self.vhosts = VirtualHostMemo()
        self.port_suspects: ItemMemo[CompiledMapping, bool] = ItemMemo()
        self.tls_users: ItemMemo[CompiledMapping, bool] = ItemMemo()
        self.jwt_routes = JwtRouteMemo()
        self.oauth2_routes = JwtRouteMemo("oauth2")
        self._mappings: ItemMemo[
            Resource[MappingSpec], tuple[CompiledMapping | None, list[ConfigProblem]]
        ] = ItemMemo()
        self.winners: dict[str, Resource[Any]] = {}
        """Per resource key, the resource that won last time: a resource from where it
        came from (file or object, annotation) keeps winning over a newcomer with the
        same key. (The resources, not their origins: most keys are never contested, and
        keeping the dict of the last compile costs nothing.)"""

    def compile_mappings(
        self, mappings: Sequence[Resource[MappingSpec]], defaults: MappingDefaults | None = None
    ) -> tuple[list[CompiledMapping], list[ConfigProblem]]:
        """compile_mapping() for each, reusing results for unchanged resources.

        A change of the Module's defaults recompiles every Mapping.
        """
        defaults = defaults if defaults is not None else MappingDefaults()
        results = self._mappings.map(mappings, lambda res: compile_mapping(res, defaults), defaults)
        compiled = present(map(_FIRST, results))
        return compiled, flat(list(map(_SECOND, results)))


_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)


@dataclass
class _Work:
    """State threaded through the steps of one compile."""

    options: CompileOptions
    cache: CompileCache
    resources: list[Resource[Any]] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    module: ModuleConfig = field(default_factory=ModuleConfig)
    compiled: list[CompiledMapping] = field(default_factory=list)
    groups: GroupChanges | None = None
    clusters: dict[str, Cluster] = field(default_factory=dict)
    route_configs: list[RouteConfig] = field(default_factory=list)
    hosts: list[CompiledHost] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    oauth2: OAuth2Gateway = field(default_factory=OAuth2Gateway)
    listeners: list[Listener] = field(default_factory=list)
    listener_specs: list[CompiledListener] = field(default_factory=list)
    """Valid Listener resources; when there are some, they replace the default ports."""
    host_meta: dict[str, HostMeta] = field(default_factory=dict)
    endpoint_requests: list[EndpointRequest] = field(default_factory=list)
    load_assignments: list[LoadAssignment] = field(default_factory=list)
    held: list[Resource[Any]] = field(default_factory=list)
    upstream_tls: UpstreamTlsResolver | None = None
    tls_contexts: TlsContexts = field(default_factory=TlsContexts)
    host_tls: HostResult | None = None
    """What compile_hosts found (its TLSContexts, and which the Hosts used)."""
    ingress_tls: list[IngressTls] = field(default_factory=list)
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    """Contents of the certificate files the configuration names (read at the edge)."""
    discovery: Discovered = field(default_factory=dict)
    """OpenID providers' discovery documents by issuer (fetched at the edge)."""
    now: datetime.datetime | None = None
    """The moment certificates' expiry is judged against (None: not judged)."""
    tcp_chains: dict[int, list[FilterChain]] = field(default_factory=dict)
    """SNI chains of TCPMappings for the HTTPS listener of each port."""
    sni_owners: dict[tuple[int, str], tuple[str, str | None]] = field(default_factory=dict)
    """(HTTPS port, SNI) → (the TCPMapping whose chain it is, its certificate's provider)."""
    auth: ExtAuthz | None = None
    ratelimit: RateLimiting = field(default_factory=RateLimiting)
    tracing: Tracing | None = None
    log_services: tuple[LogService, ...] = ()
    _kinds: tuple[int, int, dict[str, list[Resource[Any]]]] = (0, -1, {})
    """`resources` by kind, with the identity and length of the list it indexes."""

    def of_kind(self, *kinds: str) -> list[Resource[Any]]:
        """The resources of these kinds, in the order of `resources`.

        Most steps read one or two kinds: one index per state of `resources` (steps
        replace or extend it) spares each of them a walk over every Mapping."""
        list_id, length, index = self._kinds
        if list_id != id(self.resources) or length != len(self.resources):
            index = self.cache.kinds.groups(self.resources)
            self._kinds = (id(self.resources), len(self.resources), index)
        if len(kinds) == 1:
            return list(index.get(kinds[0], ()))
        if not any(k in index for k in kinds):
            return []
        wanted = set(kinds)
        return [r for r in self.resources if r.kind in wanted]


Withheld = Mapping[str, tuple[RawObject, str]]
"""Resources to leave out: key → (the document as it was when rejected, Envoy's reason)."""


def compile_config(
    objects: Sequence[RawObject],
    options: CompileOptions | None = None,
    cache: CompileCache | None = None,
    withheld: Withheld | None = None,
    files: Mapping[str, bytes | str] | None = None,
    now: datetime.datetime | None = None,
    discovery: Discovered | None = None,
) -> CompileResult:
    """Compile raw documents into the IR. Pure; `cache` only makes repeats faster.

    `withheld` names resources Envoy rejected: each is left out (with an error) for as
    long as its document is the very one that was rejected. `files` are the contents of
    the certificate files the documents name, read by the caller; `now` is the time
    certificates' expiry is judged against (the caller's clock; None: not judged);
    `discovery` the OpenID providers' discovery documents, fetched by the caller.
    """
    work = _Work(options or CompileOptions(), cache or CompileCache())
    work.files, work.now, work.discovery = files or {}, now, discovery or {}
    _parse(work, objects)
    _select_ambassador_id(work)
    _reject_duplicates(work)
    _withhold(work, withheld or {})
    _apply_module(work)
    _tls_module(work)
    _ingresses_to_mappings(work)
    _compile_mappings(work)
    _refuse_control_ports(work)
    _apply_resolvers(work)
    _originate_upstream_tls(work)
    _compile_auth(work)
    _compile_ratelimit(work)
    _group_mappings(work)
    _collect_clusters(work)
    _compile_hosts(work)
    _compile_ingress_tls(work)
    _compile_listeners(work)
    _check_cleartext_redirects(work)
    _compile_tcp_mappings(work)
    _assign_endpoints(work)
    _build_routes(work)
    _build_listeners(work)
    _apply_jwt(work)
    _observability(work)
    gateway = Gateway(
        listeners=tuple(work.listeners),
        route_configs=tuple(work.route_configs),
        clusters=tuple(work.clusters[name] for name in sorted(work.clusters)),
        load_assignments=tuple(work.load_assignments),
        secrets=tuple(work.secrets),
        auth=work.auth,
        oauth2=work.oauth2,
        ratelimit=work.ratelimit,
        tracing=work.tracing,
        log_services=work.log_services,
    )
    problems = sorted(
        work.problems,
        key=lambda p: (p.source.location, p.source.line or 0, p.resource or "", p.message),
    )
    resources = work.cache.by_key.sorted(work.resources + work.held)
    return CompileResult(gateway, tuple(problems), tuple(resources))


def _parse(work: _Work, objects: Sequence[RawObject]) -> None:
    results = work.cache.parse.parse_all(objects)
    work.resources.extend(flat(map(operator.attrgetter("resources"), results)))
    work.problems.extend(flat(list(map(operator.attrgetter("problems"), results))))


def _select_ambassador_id(work: _Work) -> None:
    """Keep only resources meant for this gateway instance (`ambassador_id`)."""
    mine = work.options.ambassador_id
    flags = work.cache.selected.map(work.resources, lambda r: selects(r.ambassador_id, mine), mine)
    work.resources = list(itertools.compress(work.resources, flags))


def _reject_duplicates(work: _Work) -> None:
    """Two resources with one key: the first seen wins, the others are errors.

    "First seen" is remembered across compiles: the one that was live keeps winning when a
    newcomer takes its name. On a fresh start the older one wins (file modification time,
    or Kubernetes creationTimestamp), then the one first in source order.
    """
    remembered = work.cache.winners
    first = dict(zip(map(_KEY, work.resources), work.resources, strict=True))
    if len(first) == len(work.resources):  # no key held twice: the usual case, at C speed
        work.cache.winners = first
        return
    first = {}
    groups: dict[str, list[Resource[Any]]] = {}  # only the keys held more than once
    for res in work.resources:
        key = res.key
        if key in first:
            groups.setdefault(key, [first[key]]).append(res)
        else:
            first[key] = res
    for key, group in groups.items():
        live = remembered.get(key)
        origin = _origin(live) if live is not None else None
        group.sort(key=lambda r: _first_seen_order(r, origin))
        where = group[0].source.describe()
        for dup in group[1:]:
            work.problems.append(
                ConfigProblem(
                    dup.source, key, f"duplicate of {key} at {where} (first seen wins); skipped"
                )
            )
        first[key] = group[0]
    work.cache.winners = first
    work.resources = list(first.values())


_KEY = operator.attrgetter("key")


def _origin(res: Resource[Any]) -> tuple[str, str | None]:
    return (res.source.location, res.source.annotation)


def _first_seen_order(res: Resource[Any], live: tuple[str, str | None] | None) -> tuple[Any, ...]:
    """Sort key: the live one first, then the oldest, then source order."""
    created = res.raw.created
    if not created:
        meta = res.raw.doc.get("metadata")
        stamp = meta.get("creationTimestamp") if isinstance(meta, dict) else None
        created = stamp if isinstance(stamp, str) else ""
    src = res.source
    return (
        _origin(res) != live,
        not created,
        created,
        src.location,
        src.line or 0,
        src.document or 0,
    )


def _withhold(work: _Work, withheld: Withheld) -> None:
    """Leave out resources Envoy rejected, while they are exactly as they were then."""
    if not withheld:
        return
    kept = []
    for res in work.resources:
        hold = withheld.get(res.key)
        if hold is not None and hold[0] is res.raw:
            work.held.append(res)
            work.problems.append(
                ConfigProblem(
                    res.source,
                    res.key,
                    f"left out: Envoy rejected the configuration with this resource "
                    f"({hold[1]}); change it to try again",
                )
            )
        else:
            kept.append(res)
    work.resources = kept


def _apply_module(work: _Work) -> None:
    modules = work.of_kind("Module")
    work.module, problems = module_settings(modules)
    work.problems.extend(problems)


def _tls_module(work: _Work) -> None:
    """The `tls` Module of Ambassador 0.x/1.x becomes a Host for `*` and its TLSContext."""
    result = tls_module_resources(work.of_kind("Module"))
    work.resources.extend(result.resources)
    work.problems.extend(result.problems)


def _ingresses_to_mappings(work: _Work) -> None:
    """Each path of a legation Ingress becomes a Mapping (see compile/ingress.py)."""
    result = ingress_mappings(
        work.of_kind("Ingress", "IngressClass", "Service", "Endpoints", "EndpointSlice")
    )
    work.resources.extend(result.mappings)
    work.problems.extend(result.problems)
    work.ingress_tls = result.tls


def _compile_mappings(work: _Work) -> None:
    mappings = work.of_kind("Mapping")
    modules = work.of_kind("Module")
    fields, problems = mapping_field_defaults(modules, work.module)
    work.problems.extend(problems)
    defaults = MappingDefaults.from_module(work.module, fields)
    work.compiled, problems = work.cache.compile_mappings(mappings, defaults)
    work.problems.extend(problems)


def _refuse_control_ports(work: _Work) -> None:
    """Mappings aimed at the gateway's own control ports are errors (TCPMappings: in
    their own step)."""
    ports, names = work.options.control_ports, work.options.local_names

    def suspect(cm: CompiledMapping) -> bool:
        # a redirect only tells the client where to go; Envoy never connects there
        return cm.cluster.port in ports and cm.options.redirect is None

    flags = work.cache.port_suspects.map(work.compiled, suspect, ports)
    if not any(flags):  # the common case, without building an address
        return
    compiled: list[CompiledMapping | None] = list(work.compiled)
    for i in itertools.compress(range(len(compiled)), flags):
        cm = work.compiled[i]
        address = ServiceAddress(cm.cluster.host, cm.cluster.port, cm.cluster.tls)
        message = control_port_error(address, ports, names)
        if message is None:
            continue
        res, compiled[i] = cm.resource, None
        work.problems.append(
            ConfigProblem(
                res.field_source("service"), res.key, message, field=res.spec_path + "service"
            )
        )
    work.compiled = present(compiled)


def _apply_resolvers(work: _Work) -> None:
    """Mappings whose resolver is a KubernetesEndpointResolver go to an EDS cluster."""
    kinds, problems = resolver_kinds(work.of_kind(*RESOLVER_KINDS))
    work.compiled, found, work.endpoint_requests = work.cache.resolvers.apply(
        work.compiled, kinds, work.module.resolver
    )
    work.problems.extend(problems + found)


def _originate_upstream_tls(work: _Work) -> None:
    """A Mapping's `tls` (a TLSContext, or true): its cluster originates TLS."""
    contexts = work.of_kind("TLSContext")
    lookup = SecretLookup(work.of_kind("Secret"), work.files)
    work.tls_contexts = compile_tls_contexts(contexts, lookup)
    work.upstream_tls = resolver = UpstreamTlsResolver(work.tls_contexts, lookup)
    flags = work.cache.tls_users.map(work.compiled, _originates)
    if not any(flags):
        return
    compiled: list[CompiledMapping | None] = list(work.compiled)
    for i in itertools.compress(range(len(compiled)), flags):
        cm = work.compiled[i]
        address = ServiceAddress(cm.cluster.host, cm.cluster.port, cm.cluster.tls)
        address = parse_service(cm.resource.spec.service) if cm.resource.spec.tls else address
        cluster, problems = resolver.originate(cm.resource, cm.cluster, address)
        work.problems.extend(problems)
        if cluster is not None and cluster is not cm.cluster:
            target = dataclasses.replace(cm.target, cluster=cluster.name)
            cm = dataclasses.replace(cm, cluster=cluster, target=target)
        compiled[i] = cm if cluster is not None else None
    work.compiled = present(compiled)


def _originates(cm: CompiledMapping) -> bool:
    """Whether the Mapping's `tls` asks for TLS to its upstream (originate() leaves the
    others as they are)."""
    return not (cm.resource.spec.tls is None or cm.resource.spec.tls is False)


def _compile_auth(work: _Work) -> None:
    """AuthServices: the gateway's external authorization (its cluster and settings)."""
    assert work.upstream_tls is not None  # the TLSContexts the auth connection may name
    unloadable = sorted(
        {
            p.resource
            for p in work.problems
            if p.resource and p.resource.startswith("AuthService/") and p.severity is Severity.ERROR
        }
    )
    services = work.of_kind("AuthService")
    work.auth, problems = compile_auth(services, work.upstream_tls, work.module, unloadable)
    work.problems.extend(problems)


def _compile_ratelimit(work: _Work) -> None:
    """The RateLimitService (or the bundled limiter), default labels, limiter documents."""
    modules = [r for r in work.of_kind("Module") if r.name == "ambassador"]
    module = min(modules, key=lambda r: r.key) if modules else None
    work.ratelimit, problems = compile_ratelimit(
        work.of_kind("RateLimitService", "RateLimit"),
        work.module,
        module,
        work.upstream_tls,
        work.options.bundled_limiter,
    )
    work.problems.extend(problems)


def _compile_hosts(work: _Work) -> None:
    """Hosts: hostname, certificate (from a Secret) and cleartext policy, each checked."""
    hosts = work.of_kind("Host")
    upstream = work.upstream_tls
    used = frozenset(upstream.contexts_used) if upstream else frozenset()
    named = work.of_kind("Secret", "TLSContext")
    result = compile_hosts(hosts, named, used, work.files, work.now, report_unused=False)
    work.hosts, work.secrets = result.hosts, result.secrets
    work.host_tls = result
    work.problems.extend(result.problems)


def _compile_listeners(work: _Work) -> None:
    """Listener resources: ports, protocols, security model and the Hosts each takes."""
    result = compile_listeners(work.of_kind("Listener"))
    work.listener_specs = result.listeners
    work.problems.extend(result.problems)
    for res in work.of_kind("Host"):
        metadata = res.raw.doc.get("metadata")
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        plain = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        work.host_meta[res.key] = HostMeta(res.namespace, plain)
    if work.listener_specs:
        work.problems.extend(unbound_hosts(work.listener_specs, work.hosts, work.host_meta))


def _check_cleartext_redirects(work: _Work) -> None:
    """`redirect_cleartext_from` names the cleartext port the Hosts' redirects apply
    on: a notice when that port serves no cleartext HTTP here (no listener is made for
    it: Emissary 2.x+ wants a Listener too)."""
    if work.listener_specs:
        ports = sorted(li.port for li in work.listener_specs if li.http)
    else:
        ports = [work.options.http_port]
    used = {h.tls.context: h.tls for h in work.hosts if h.secret is not None}
    for res, _ in work.tls_contexts.by_name.values():
        choice = used.get(res.key)
        port = choice.redirect_cleartext_from if choice is not None else None
        if port is None or port in ports:
            continue
        message = (
            f"port {port} serves no cleartext HTTP here (cleartext is served on "
            f"{', '.join(map(str, ports))}, where the Hosts' insecure action applies); "
            "add a Listener for it"
        )
        work.problems.append(res.problem("redirect_cleartext_from", message, notice=True))


def _compile_ingress_tls(work: _Work) -> None:
    """Ingress spec.tls: TLS-only Hosts (HTTPS port), after the Host resources."""
    if work.ingress_tls:
        found = ingress_tls_hosts(
            work.ingress_tls, work.hosts, SecretLookup(work.of_kind("Secret"), work.files)
        )
        work.hosts.extend(found.hosts)
        known = {s.name for s in work.secrets}
        work.secrets.extend(s for s in found.secrets if s.name not in known)
        work.secrets.sort(key=lambda s: s.name)
        work.problems.extend(found.problems)


def _tcp_ports(work: _Work) -> TcpPorts:
    """Which ports serve HTTP (no TCPMapping), HTTPS (SNI TCPMappings join), or belong
    to TCP / TLS Listeners."""
    http: dict[int, str] = {}
    https: dict[int, str] = {}
    if not work.listener_specs:
        http[work.options.http_port] = "the HTTP listener's port"
        if any(h.secret is not None for h in work.hosts):
            https[work.options.https_port] = "the HTTPS listener's port"
        return TcpPorts(http, https)
    tcp = {}
    for li in work.listener_specs:
        if li.http and li.tls:
            https[li.port] = f"the port of {li.key} (HTTPS)"
        elif li.http:
            http[li.port] = f"the port of an HTTP Listener ({li.key})"
        else:
            tcp[li.port] = li
    return TcpPorts(http, https, tcp)


def _compile_tcp_mappings(work: _Work) -> None:
    """TCPMappings: their chains (own listeners, TCP Listeners' or the HTTPS port's);
    their clusters join the HTTP ones."""
    tcp = work.of_kind("TCPMapping")
    opts = work.options
    secrets = SecretLookup(work.of_kind("Secret"))
    termination = TcpTermination(work.hosts, work.tls_contexts, secrets)
    result = compile_tcp_mappings(
        tcp,
        opts.listen_address,
        _tcp_ports(work),
        opts.control_ports,
        opts.local_names,
        upstream_tls=work.upstream_tls,
        termination=termination,
    )
    work.tcp_chains, work.sni_owners = result.shared, result.owners
    if work.host_tls is not None:  # now that every user of a TLSContext is known
        used = work.host_tls.contexts_used | termination.contexts_used
        if work.upstream_tls is not None:  # TCPMappings' `tls` too, resolved just now
            used |= work.upstream_tls.contexts_used
        work.problems.extend(work.host_tls.contexts.unused(used))
    work.listeners.extend(result.listeners)
    # secrets named by TLS-originating clusters and TLSContext-terminated TCP chains
    extra = termination.secrets() + (work.upstream_tls.secrets() if work.upstream_tls else [])
    named = {s.name: s for s in work.secrets + extra}
    work.secrets = [named[name] for name in sorted(named)]
    work.problems.extend(result.problems)
    for cluster in result.clusters:
        shared = work.clusters.get(cluster.name)
        if shared is not None:
            users = tuple(sorted(shared.mappings + cluster.mappings))
            cluster = dataclasses.replace(shared, mappings=users)
        work.clusters[cluster.name] = cluster


def _assign_endpoints(work: _Work) -> None:
    """The ready endpoints of each EDS cluster, from EndpointSlices or Endpoints."""
    # only for clusters that are still there: a Mapping left out after its resolver
    # asked (e.g. refused by its canary group) takes its EDS cluster along
    requests = [r for r in work.endpoint_requests if r.cluster in work.clusters]
    work.load_assignments, problems = load_assignments(
        requests, work.of_kind("EndpointSlice", "Endpoints", "Service")
    )
    work.problems.extend(problems)
    by_key: dict[str, Resource[Any]] = {}
    ports, names = work.options.control_ports, work.options.local_names
    for i, assignment in enumerate(work.load_assignments):
        work.load_assignments[i], reasons = without_control_endpoints(assignment, ports, names)
        if reasons and not by_key:  # rare: built only when there is something to report
            by_key = {r.key: r for r in work.resources}
        holders = [by_key[k] for k in assignment.sources if k in by_key]
        for reason, res in ((r, h) for r in reasons for h in holders):
            work.problems.append(ConfigProblem(res.source, res.key, reason))


def _group_mappings(work: _Work) -> None:
    """Canary groups (identical match criteria), without members that cannot join, and
    their routes (built again only for the groups that changed)."""
    work.groups = found = work.cache.groups.update(work.compiled)
    work.problems.extend(found.problems)
    if found.dropped:
        left_out = set(map(id, found.dropped))
        work.compiled = [cm for cm in work.compiled if id(cm) not in left_out]


def _collect_clusters(work: _Work) -> None:
    """One cluster per distinct upstream, listing every Mapping that uses it."""
    work.clusters = work.cache.clusters.collect(work.compiled)


def _build_routes(work: _Work) -> None:
    """Canary groups → routes → virtual hosts in Ambassador order."""
    assert work.groups is not None
    groups = work.cache.groups
    if work.listener_specs:
        _build_listener_routes(work, groups.routes())
        return
    name = f"http-{work.options.http_port}"
    hosts = [h for h in work.hosts if not h.tls_only]  # Ingress TLS leaves cleartext be
    if not work.hosts:  # no Host resources: every Mapping on every host, as before Hosts
        found = work.groups
        vhosts = work.cache.vhosts.virtual_hosts(
            found.generation, found.gone, found.came, groups.routes
        )
        work.route_configs.append(RouteConfig(name=name, virtual_hosts=vhosts))
        return
    routes = groups.routes()
    labels = mapping_labels(work.of_kind("Mapping"))
    memo = work.cache.host_routes
    memo.start()
    if hosts:
        work.problems.extend(unserved(hosts, routes, labels))
        cleartext = host_virtual_hosts(hosts, routes, labels, cleartext=True, memo=memo)
    else:
        cleartext = virtual_hosts(routes)
    work.route_configs.append(RouteConfig(name=name, virtual_hosts=cleartext))
    tls_hosts = [h for h in work.hosts if h.secret is not None]
    if tls_hosts:
        secure = host_virtual_hosts(tls_hosts, routes, labels, cleartext=False, memo=memo)
        work.route_configs.append(RouteConfig(f"https-{work.options.https_port}", secure))


def _build_listener_routes(work: _Work, routes: Sequence[Route]) -> None:
    """With Listener resources: one route configuration per HTTP Listener."""
    labels = mapping_labels(work.of_kind("Mapping"))
    if work.hosts:
        work.problems.extend(unserved(work.hosts, routes, labels))
    memo, xfp = work.cache.host_routes, work.cache.xfp
    memo.start()
    xfp.start()
    for listener in (li for li in work.listener_specs if li.http):
        hosts = taken_hosts(listener, work.hosts, work.host_meta) if work.hosts else None
        config = listener_route_config(listener, hosts, routes, labels, memo, xfp)
        work.route_configs.append(config)


def _apply_jwt(work: _Work) -> None:
    """Filters and FilterPolicies: each route's JWT requirement, the JWT filter on the
    listeners whose routes need one, the JWKS clusters and their CA bundles."""
    filters = work.of_kind("Filter")
    policies = work.of_kind("FilterPolicy")
    if not filters and not policies:
        return
    ports, names = work.options.control_ports, work.options.local_names
    compiled = compile_jwt_filters(
        filters,
        SecretLookup(work.of_kind("Secret")),
        lambda address: control_port_error(address, ports, names),
    )
    logins = compile_oauth2(filters, work.of_kind("Secret"), work.discovery)
    rules = compile_policies(policies, compiled.providers, compiled.broken, logins)
    work.problems.extend(compiled.problems + logins.problems + rules.problems)
    if not rules.rules:
        return
    memo = work.cache.jwt_routes
    memo.start()
    work.route_configs = [decide_routes(rc, rules.rules, memo) for rc in work.route_configs]
    memo.finish()
    memo = work.cache.oauth2_routes
    memo.start()
    work.route_configs = [decide_logins(rc, rules.rules, memo) for rc in work.route_configs]
    memo.finish()
    work.oauth2 = used_logins(work.route_configs, logins)
    by_config = {}
    for config in work.route_configs:
        jwt = jwt_authn_for(config, rules.rules, compiled.providers)
        if jwt is not None:
            by_config[config.name] = jwt
    work.listeners = [with_jwt(li, by_config) for li in work.listeners]
    used = {p.remote_jwks.cluster for j in by_config.values() for p in j.providers if p.remote_jwks}
    for cluster in compiled.clusters:
        if cluster.name in used:
            work.clusters.setdefault(cluster.name, cluster)
    named = {s.name: s for s in work.secrets}
    for secret in compiled.secrets:
        if any(
            c.upstream_tls and c.upstream_tls.trusted_ca == secret.name
            for c in work.clusters.values()
        ):
            named.setdefault(secret.name, secret)
    work.secrets = [named[name] for name in sorted(named)]


def _build_listeners(work: _Work) -> None:
    """Without Listener resources: one HTTP listener on the configured port, and an
    HTTPS one when some Host terminates TLS."""
    modules = work.of_kind("Module")
    access_log, problems = access_log_settings(modules, work.module)
    work.problems.extend(problems)
    module = next((m for m in sorted(modules, key=lambda r: r.key) if m.name == "ambassador"), None)
    route_rules = any(work.cache.error_rules.map(work.compiled, _error_rules))
    filters, problems = http_filter_settings(work.module, module, route_rules)
    work.problems.extend(problems)
    port = work.options.http_port
    settings = http_settings(work.module)
    manager = HttpConnectionManager(
        route_config=f"http-{port}",
        stat_prefix=f"http_{port}",
        use_remote_address=work.module.use_remote_address,
        xff_num_trusted_hops=work.module.xff_num_trusted_hops,
        merge_slashes=work.module.merge_slashes,
        strip_matching_host_port=work.module.strip_matching_host_port,
        access_log=access_log,
        settings=settings,
        filters=filters,
    )
    if work.listener_specs:
        work.listeners[0:0] = [
            listener_ir(
                li,
                _tls_hosts(work, li.port, taken_hosts(li, work.hosts, work.host_meta)),
                manager,
                work.options.listen_address,
                settings.buffer_limit_bytes,
                settings.proxy_protocol,
                work.tcp_chains.get(li.port, ()),
            )
            for li in work.listener_specs
            if li.http
        ]
        return
    chain = FilterChain(http=manager)
    http = Listener(
        f"http-{port}",
        work.options.listen_address,
        port,
        (chain,),
        buffer_limit_bytes=settings.buffer_limit_bytes,
        proxy_protocol=settings.proxy_protocol,
    )
    https_port, address = work.options.https_port, work.options.listen_address
    https = https_listener(_tls_hosts(work, https_port, work.hosts), https_port, address, manager)
    tcp_chains = tuple(work.tcp_chains.get(https_port, ()))
    if tcp_chains:  # SNI TCPMappings first; they may be all that is left on the port
        chains = tcp_chains + (https.filter_chains if https is not None else ())
        https = Listener(f"https-{https_port}", address, https_port, chains)
    work.listeners[0:0] = [http] if https is None else [http, https]


def _error_rules(cm: CompiledMapping) -> bool:
    """Whether the Mapping has error response rules of its own (or bypasses them)."""
    return cm.options.error_responses is not None or cm.options.bypass_error_responses


def _tls_hosts(work: _Work, port: int, hosts: Sequence[CompiledHost]) -> list[CompiledHost]:
    """The Hosts that keep their TLS chain on `port`: a TCPMapping with a Host's very
    hostname as `host` takes that SNI (a problem on the Host says so)."""
    kept, problems = sni_conflicts(port, hosts, work.sni_owners)
    work.problems.extend(problems)
    return kept


def _observability(work: _Work) -> None:
    """The TracingService and LogServices (gateway-wide, on every connection manager)."""
    work.tracing, problems = compile_tracing(work.of_kind("TracingService"))
    work.problems.extend(problems)
    work.log_services, problems = compile_log_services(work.of_kind("LogService"))
    work.problems.extend(problems)
