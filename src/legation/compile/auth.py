"""AuthService resources → the gateway's `ExtAuthz` (one, balancing every AuthService).

The first AuthService (by key) sets the settings; each further one must agree with it
on them (`AUTH_ONE_VALUE`) and adds its host to the auth cluster; header lists merge.
An AuthService that cannot work (bad URL, gRPC not v3, unknown TLSContext, a document
that failed to load) is reported on itself and left out; when none is left, the
gateway still gets ext_authz, with no endpoint: every route that needs it is refused
(status_on_error), never let through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from legation.compile.service import ServiceError, cluster_for, parse_service
from legation.compile.upstream_tls import UpstreamTlsResolver
from legation.ir.auth import (
    ALWAYS_AUTHORIZATION_HEADERS,
    ALWAYS_REQUEST_HEADERS,
    ExtAuthz,
    IncludeBody,
)
from legation.ir.clusters import Cluster, Discovery
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.upstream import CircuitBreaker, OutlierDetection, UpstreamOptions
from legation.model.authservice import AUTH_ONE_VALUE, AuthServiceSpec
from legation.model.module import ModuleConfig
from legation.model.resource import Resource
from legation.model.traffic import CircuitBreakerSpec

DEFAULT_BREAKER = CircuitBreaker("default", 1024, 1024, 1024, 3)
"""The auth cluster's own limits when the AuthService sets none: checks queue behind
no Mapping's traffic, and a stuck auth service cannot take every connection."""

AUTH_OUTLIER = OutlierDetection(
    consecutive_5xx=3,
    consecutive_gateway_failure=3,
    enforcing_consecutive_5xx=100,
    enforcing_consecutive_gateway_failure=100,
    interval_ms=1000,
    base_ejection_time_ms=5000,
    max_ejection_percent=100,
)
"""Passive health of the auth service's endpoints: three failed checks in a row (5xx,
or no connection) eject one for 5 s. With several endpoints the others take its
checks; with one, Envoy keeps sending to it (panic mode) and the diagnostics show it
failing (`failed_outlier_check`) instead of calling a server that went away healthy."""

UNAVAILABLE_CLUSTER = "cluster_extauth_unavailable"
"""The endpoint-less cluster of an auth configuration that cannot work."""


@dataclass(frozen=True, slots=True)
class _Checked:
    """One AuthService that can work: its cluster and its settings."""

    res: Resource[AuthServiceSpec]
    cluster: Cluster
    settings: tuple[object, ...]


def _breakers(spec: AuthServiceSpec, module: ModuleConfig) -> tuple[CircuitBreaker, ...]:
    chosen: Sequence[CircuitBreakerSpec] | None = spec.v3CircuitBreakers or spec.circuit_breakers
    chosen = chosen or module.circuit_breakers
    if not chosen:
        return (DEFAULT_BREAKER,)
    return tuple(
        CircuitBreaker(
            b.priority, b.max_connections, b.max_pending_requests, b.max_requests, b.max_retries
        )
        for b in chosen
    )


def _check(
    res: Resource[AuthServiceSpec], tls: UpstreamTlsResolver, module: ModuleConfig
) -> tuple[_Checked | None, list[ConfigProblem]]:
    """The AuthService's cluster and settings, or None and why it cannot work."""
    spec = res.spec
    problems = _http_only_notices(res)
    if spec.proto == "grpc" and spec.protocol_version != "v3":
        given = spec.protocol_version or "not set (v2)"
        message = f"proto grpc needs protocol_version v3 (Envoy speaks only v3), got {given}"
        return None, [*problems, res.problem("protocol_version", message)]
    try:
        address = parse_service(spec.auth_service)
    except ServiceError as exc:
        return None, [*problems, res.problem("auth_service", str(exc))]
    options = UpstreamOptions(
        circuit_breakers=_breakers(spec, module),
        http2=spec.proto == "grpc",
        stats_name=spec.v3StatsName or spec.stats_name,
        outlier_detection=AUTH_OUTLIER,
    )
    cluster = cluster_for(address, spec.auth_service, spec.connect_timeout_ms, options)
    cluster = dataclasses.replace(
        cluster, name=cluster.name.replace("cluster_", "cluster_extauth_", 1)
    )
    originated, tls_problems = tls.originate(res, cluster, address)
    problems.extend(tls_problems)
    if originated is None:
        return None, problems
    settings = tuple(getattr(spec, f) for f in AUTH_ONE_VALUE)
    return _Checked(res, originated, settings), problems


def _http_only_notices(res: Resource[AuthServiceSpec]) -> list[ConfigProblem]:
    if res.spec.proto != "grpc":
        return []
    fields = ("path_prefix", "allowed_request_headers", "allowed_headers", "add_auth_headers")
    return [
        res.problem(f, "only used with proto http; ignored", notice=True)
        for f in fields
        if getattr(res.spec, f)
    ]


def _disagreement(first: _Checked, other: _Checked) -> ConfigProblem | None:
    for name, a, b in zip(AUTH_ONE_VALUE, first.settings, other.settings, strict=True):
        if a != b:
            message = (
                f"several AuthServices are balanced as one and must agree on {name}; "
                f"{first.res.key} has {a!r}; left out"
            )
            return other.res.problem(name, message)
    return None


def _headers(extra: Sequence[Sequence[str] | None], always: tuple[str, ...]) -> tuple[str, ...]:
    names = set(always)
    for names_list in extra:
        names.update(h.lower() for h in names_list or ())
    return tuple(sorted(names))


def _include_body(spec: AuthServiceSpec) -> IncludeBody | None:
    if spec.include_body is not None:
        return IncludeBody(spec.include_body.max_bytes, spec.include_body.allow_partial)
    if spec.allow_request_body:  # the old switch, as Emissary reads it
        return IncludeBody(4096, allow_partial=True)
    return None


def _ext_authz(members: Sequence[_Checked], module: ModuleConfig) -> ExtAuthz:
    first = members[0]
    spec = first.res.spec
    add = dict(spec.add_auth_headers or {})
    linkerd = spec.add_linkerd_headers
    if linkerd if linkerd is not None else module.add_linkerd_headers:
        add["l5d-dst-override"] = f"{first.cluster.host}:{first.cluster.port}"
    endpoints = tuple(dict.fromkeys((m.cluster.host, m.cluster.port) for m in members))
    cluster = first.cluster
    if any(m.cluster.discovery is not cluster.discovery for m in members):
        # a name among the addresses: Envoy resolves them all (IPs resolve to themselves)
        cluster = dataclasses.replace(cluster, discovery=Discovery.STRICT_DNS)
    grpc = spec.proto == "grpc"
    return ExtAuthz(
        proto=spec.proto,
        cluster=cluster,
        endpoints=endpoints,
        sources=tuple(sorted(m.res.key for m in members)),
        timeout_ms=spec.timeout_ms,
        path_prefix="" if grpc else spec.path_prefix or "",
        allowed_request_headers=_headers(
            [
                h
                for m in members
                for h in (m.res.spec.allowed_request_headers, m.res.spec.allowed_headers)
            ],
            ALWAYS_REQUEST_HEADERS,
        ),
        allowed_authorization_headers=_headers(
            [m.res.spec.allowed_authorization_headers for m in members],
            ALWAYS_AUTHORIZATION_HEADERS,
        ),
        add_auth_headers=() if grpc else tuple(sorted(add.items())),
        include_body=_include_body(spec),
        status_on_error=spec.status_on_error.code if spec.status_on_error else 403,
        failure_mode_allow=spec.failure_mode_allow,
    )


def _unavailable(
    resources: Sequence[Resource[AuthServiceSpec]], keys: Sequence[str], reason: str
) -> ExtAuthz:
    status = next((r.spec.status_on_error.code for r in resources if r.spec.status_on_error), 403)
    cluster = Cluster(UNAVAILABLE_CLUSTER, "", "127.0.0.1", 1, Discovery.STATIC)
    return ExtAuthz(
        proto="http",
        cluster=cluster,
        endpoints=(),
        sources=tuple(sorted(keys)),
        status_on_error=status,
        broken=reason,
    )


def compile_auth(
    resources: Sequence[Resource[AuthServiceSpec]],
    tls: UpstreamTlsResolver,
    module: ModuleConfig,
    unloadable: Sequence[str] = (),
) -> tuple[ExtAuthz | None, list[ConfigProblem]]:
    """The gateway's ext_authz from its AuthServices (`unloadable`: keys of AuthService
    documents that failed to load); None when there are none at all."""
    problems: list[ConfigProblem] = []
    members: list[_Checked] = []
    for res in sorted(resources, key=lambda r: r.key):
        checked, found = _check(res, tls, module)
        problems.extend(found)
        if checked is None:
            continue
        disagreement = _disagreement(members[0], checked) if members else None
        if disagreement is not None:
            problems.append(disagreement)
            continue
        members.append(checked)
    if members:
        return _ext_authz(members, module), problems
    keys = [r.key for r in resources] + list(unloadable)
    if not keys:
        return None, problems
    reason = f"no AuthService can work ({', '.join(sorted(keys))}): requests are refused"
    for res in resources:
        problems.append(ConfigProblem(res.source, res.key, reason, severity=Severity.NOTICE))
    return _unavailable(resources, keys, reason), problems
