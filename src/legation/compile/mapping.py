"""One Mapping → its match, its cluster and its share of a canary group."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from legation.compile.host_match import HostError, HostMatch, authority_header, host_match
from legation.compile.regex import regex_error
from legation.compile.route_options import route_options
from legation.compile.route_stats import route_stat_prefix
from legation.compile.route_weight import route_weight
from legation.compile.service import ServiceAddress, ServiceError, cluster_for, parse_service
from legation.compile.upstream_options import MappingDefaults, header_settings, upstream_options
from legation.ir.clusters import Cluster
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.policies import RouteOptions
from legation.ir.routes import (
    HeaderMatch,
    HeaderToAdd,
    PathKind,
    PathMatch,
    QueryMatch,
    RegexRewrite,
    RouteMatch,
    RouteWeight,
    WeightedTarget,
)
from legation.model.common import HeaderSpec, HeaderValue
from legation.model.mapping import MAPPING_REFUSED, NOT_YET_IMPLEMENTED, MappingSpec
from legation.model.resource import Resource

DEFAULT_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True, eq=False)
class CompiledMapping:
    """What one valid Mapping contributes; canary grouping combines these into routes."""

    key: str
    resource: Resource[MappingSpec]
    group_id: str
    """Equal for Mappings with identical match criteria: they form one canary group."""
    hostname: str
    match: RouteMatch
    precedence: int
    route_weight: RouteWeight
    """Emissary's route weight of this Mapping (the route order)."""
    weight: int | None
    cluster: Cluster
    target: WeightedTarget
    prefix_rewrite: str | None
    regex_rewrite: RegexRewrite | None
    timeout_ms: int
    options: RouteOptions
    """Route-level settings: retries, CORS, hashing, upgrades, host rewrite, redirect."""
    shadow: bool = False
    """A shadow Mapping mirrors its group's traffic (its `weight` percent) to its cluster."""
    stat_prefix: str | None = None
    """Its routes' statistics prefix; None when the Module turns per-Mapping stats off."""


def _headers_to_add(values: dict[str, HeaderSpec]) -> tuple[HeaderToAdd, ...]:
    out = []
    for name, spec in sorted(values.items()):
        if isinstance(spec, HeaderValue):
            out.append(HeaderToAdd(name, spec.value, spec.append))
        else:
            out.append(HeaderToAdd(name, spec))
    return tuple(out)


def _exact_or_present(name: str, value: str | bool) -> HeaderMatch:
    return HeaderMatch(name, None if value is True else str(value))


def _check_regex(
    res: Resource[MappingSpec], field: str, pattern: str, case_sensitive: bool = True
) -> ConfigProblem | None:
    """Reject patterns that Envoy's regex engine (RE2) would refuse, against the Mapping.

    Checked with RE2 itself, so a pattern RE2 cannot parse (a lookahead, a back
    reference) or whose program is over Envoy's size limit is this Mapping's error
    instead of a rejected route table.
    """
    message = regex_error(pattern, case_sensitive)
    return res.problem(field, f"invalid regular expression: {message}") if message else None


def _match(spec: MappingSpec, host: HostMatch) -> RouteMatch:
    kind = (
        PathKind.REGEX
        if spec.prefix_regex
        else PathKind.EXACT
        if spec.prefix_exact
        else PathKind.PREFIX
    )
    skip = authority_header(spec)  # the host, unless overridden: never a header match
    headers = [_exact_or_present(n, v) for n, v in spec.headers.items() if n != skip]
    headers += [HeaderMatch(n, v, regex=True) for n, v in spec.regex_headers.items()]
    if host.regex is not None:
        headers.append(HeaderMatch(":authority", host.regex, regex=True))
    query = [QueryMatch(n, None if v is True else str(v)) for n, v in spec.query_parameters.items()]
    query += [QueryMatch(n, v, regex=True) for n, v in spec.regex_query_parameters.items()]
    return RouteMatch(
        path=PathMatch(kind, spec.prefix, spec.case_sensitive),
        method=spec.method.upper() if spec.method and not spec.method_regex else spec.method,
        method_regex=spec.method_regex,
        headers=tuple(sorted(headers, key=lambda h: (h.name, h.regex, h.value or ""))),
        query=tuple(sorted(query, key=lambda q: (q.name, q.regex, q.value or ""))),
    )


def _linkerd_destination(address: ServiceAddress, namespace: str) -> str:
    """`host:port` for Linkerd's `l5d-dst-override`; as in Emissary, a bare Kubernetes
    name is qualified with the Mapping's namespace (Linkerd resolves it cluster-wide)."""
    host = address.host
    if "." not in host and ":" not in host and host != "localhost":
        host = f"{host}.{namespace}"
    return f"{host}:{address.port}"


def _target(
    res: Resource[MappingSpec], address: ServiceAddress, defaults: MappingDefaults, cluster: str
) -> WeightedTarget:
    """The Mapping's cluster and header changes (with the Module's defaults)."""
    spec = res.spec
    headers = header_settings(spec, defaults)
    request_headers = dict(headers.add_request_headers)
    linkerd = spec.add_linkerd_headers
    if linkerd if linkerd is not None else defaults.add_linkerd_headers:
        request_headers["l5d-dst-override"] = _linkerd_destination(address, res.namespace)
    return WeightedTarget(
        cluster=cluster,
        weight=0,  # decided by the canary group
        mapping=res.key,
        add_request_headers=_headers_to_add(request_headers),
        remove_request_headers=tuple(headers.remove_request_headers),
        add_response_headers=_headers_to_add(headers.add_response_headers),
        remove_response_headers=tuple(headers.remove_response_headers),
    )


def group_id(hostname: str, match: RouteMatch, precedence: int) -> str:
    """A stable id for the match criteria; Mappings sharing it form a canary group."""
    h = hashlib.sha1(repr((hostname, match, precedence)).encode(), usedforsecurity=False)
    return h.hexdigest()[:16]


def _unused_field_notices(res: Resource[MappingSpec]) -> list[ConfigProblem]:
    """A notice for each field that is read but has no effect: refused (with the reason)
    or belonging to work not done yet."""
    problems = []
    for name in (*NOT_YET_IMPLEMENTED, *MAPPING_REFUSED):
        if getattr(res.spec, name) is not None:
            refused = MAPPING_REFUSED.get(name)
            problems.append(
                ConfigProblem(
                    res.field_source(name),
                    res.key,
                    f"not supported: {refused}; it has no effect"
                    if refused
                    else "accepted but not implemented yet; it has no effect",
                    field=res.spec_path + name,
                    severity=Severity.NOTICE,
                )
            )
    return problems


def _match_errors(res: Resource[MappingSpec], host: HostMatch | HostError) -> list[ConfigProblem]:
    """What rejects the Mapping's match: bad prefixes, regexes and exact hosts with `*`."""
    spec = res.spec
    errors: list[ConfigProblem | None] = []
    if spec.prefix_regex:
        errors.append(_check_regex(res, "prefix", spec.prefix, spec.case_sensitive))
    elif not spec.prefix.startswith("/"):
        errors.append(res.problem("prefix", "prefix must start with '/'"))
    for field, values in (
        ("regex_headers", spec.regex_headers),
        ("regex_query_parameters", spec.regex_query_parameters),
    ):
        errors.extend(_check_regex(res, f"{field}.{n}", v) for n, v in values.items())
    if spec.regex_rewrite is not None:
        errors.append(_check_regex(res, "regex_rewrite.pattern", spec.regex_rewrite.pattern))
    if isinstance(host, HostError):
        errors.append(res.problem(host.field, host.message))
    elif host.regex is not None:
        errors.append(_check_regex(res, "host", host.regex))
    if spec.method_regex and spec.method is not None:
        errors.append(_check_regex(res, "method", spec.method))
    return [e for e in errors if e is not None]


def compile_mapping(
    res: Resource[MappingSpec], defaults: MappingDefaults | None = None
) -> tuple[CompiledMapping | None, list[ConfigProblem]]:
    """Check one Mapping and compute its contribution, or the problems that reject it.

    `defaults` are the `ambassador` Module's settings for Mappings that set none.
    """
    defaults = defaults if defaults is not None else MappingDefaults()
    spec = res.spec
    problems = _unused_field_notices(res)
    host = host_match(spec)
    errors = _match_errors(res, host)
    try:
        address = parse_service(spec.service)
    except ServiceError as exc:
        errors.append(res.problem("service", str(exc)))
        address = None
    if errors or address is None or isinstance(host, HostError):
        return None, problems + errors
    problems += [
        ConfigProblem(
            res.field_source(field),
            res.key,
            f"ignored: `{winner}` overrides it (as in Emissary)",
            field=res.spec_path + field,
            severity=Severity.NOTICE,
        )
        for field, winner in host.ignored
    ]
    options, option_problems = route_options(res, address, defaults)
    problems.extend(option_problems)
    if any(p.severity is Severity.ERROR for p in option_problems):
        return None, problems

    match = _match(spec, host)
    hostname = host.hostname
    cluster = cluster_for(
        address,
        spec.service,
        spec.connect_timeout_ms,
        upstream_options(spec, defaults),
        spec.dns_type,
    )
    target = _target(res, address, defaults, cluster.name)
    rewrite = None if spec.regex_rewrite is not None or spec.rewrite in (None, "") else spec.rewrite
    regex_rewrite = (
        RegexRewrite(spec.regex_rewrite.pattern, spec.regex_rewrite.substitution)
        if spec.regex_rewrite is not None
        else None
    )
    compiled = CompiledMapping(
        key=res.key,
        resource=res,
        group_id=group_id(hostname, match, spec.precedence),
        hostname=hostname,
        match=match,
        precedence=spec.precedence,
        route_weight=route_weight(spec, host),
        weight=spec.weight,
        cluster=cluster,
        target=target,
        prefix_rewrite=rewrite,
        regex_rewrite=regex_rewrite,
        timeout_ms=next(
            t for t in (spec.timeout_ms, defaults.timeout_ms, DEFAULT_TIMEOUT_MS) if t is not None
        ),
        options=options,
        shadow=spec.shadow,
        stat_prefix=route_stat_prefix(res) if defaults.mapping_stats else None,
    )
    return compiled, problems
