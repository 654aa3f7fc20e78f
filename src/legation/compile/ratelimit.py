"""RateLimitService and RateLimit resources → the gateway's `RateLimiting` IR.

- One RateLimitService per gateway (a second one is an error on the later). Without
  one, `CompileOptions.bundled_limiter` (the limiter `legation run --rate-limiter`
  started) is used, when set.
- The limiter's cluster is its own: HTTP/2 (gRPC), a short connect timeout, TLS from
  `tls` through the upstream TLS code.
- RateLimit resources become the bundled limiter's documents (ratelimit/limiter_config).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import yaml

from legation.compile.labels import default_labels
from legation.compile.service import ServiceError, cluster_for, cluster_prefix, parse_service
from legation.compile.upstream_tls import UpstreamTlsResolver
from legation.ir.errors import ConfigProblem
from legation.ir.ratelimit import LimiterDocument, RateLimiting, RateLimitService
from legation.ir.upstream import UpstreamOptions
from legation.model.module import ModuleConfig
from legation.model.ratelimit import RateLimitServiceSpec
from legation.model.resource import Resource
from legation.ratelimit.limiter_config import limiter_config

LIMITER_CONNECT_TIMEOUT_MS = 1000
"""The limiter is near and answers within milliseconds: fail fast when it is away."""

BUNDLED_TIMEOUT_MS = 500
"""The request timeout for the bundled limiter (no RateLimitService to say one): it is
on this machine, so only an overloaded machine gets near it."""

SERVICE_NOT_USED = ("stats_name", "v3GRPCService", "v3StatsName")
"""RateLimitService fields that load and have no effect (each use gets a notice)."""

BUNDLED = "bundled"
"""`RateLimitService.source` of the limiter `legation run --rate-limiter` started."""


def _service(
    res: Resource[RateLimitServiceSpec], module: ModuleConfig, tls: UpstreamTlsResolver | None
) -> tuple[RateLimitService | None, list[ConfigProblem]]:
    spec = res.spec
    try:
        address = parse_service(spec.service)
    except ServiceError as exc:
        return None, [res.problem("service", str(exc))]
    cluster = cluster_for(
        address, spec.service, LIMITER_CONNECT_TIMEOUT_MS, UpstreamOptions(http2=True)
    )
    cluster = dataclasses.replace(cluster, name=_cluster_name(address.host, address.port))
    problems = [
        res.problem(name, "not supported; it has no effect", notice=True)
        for name in SERVICE_NOT_USED
        if getattr(spec, name) is not None
    ]
    if tls is not None:
        found, tls_problems = tls.originate(res, cluster, address)
        problems.extend(tls_problems)
        if found is None:
            return None, problems
        cluster = found
    service = RateLimitService(
        source=res.key,
        cluster=cluster,
        domain=spec.domain or module.default_label_domain,
        failure_mode_deny=spec.failure_mode_deny,
        timeout_ms=spec.timeout_ms,
    )
    return service, problems


def _cluster_name(host: str, port: int) -> str:
    # never the name of a route's cluster: its settings (HTTP/2, timeouts) are its own
    return "ratelimit_" + cluster_prefix(host, port).removeprefix("cluster_")


def bundled_service(address: str, module: ModuleConfig) -> RateLimitService:
    """The RateLimitService of the bundled limiter at `address` (`host:port`)."""
    parsed = parse_service(address)
    cluster = cluster_for(parsed, address, LIMITER_CONNECT_TIMEOUT_MS, UpstreamOptions(http2=True))
    cluster = dataclasses.replace(cluster, name=_cluster_name(parsed.host, parsed.port))
    return RateLimitService(
        BUNDLED, cluster, module.default_label_domain, timeout_ms=BUNDLED_TIMEOUT_MS
    )


def _chosen_service(
    services: Sequence[Resource[Any]],
    module: ModuleConfig,
    tls: UpstreamTlsResolver | None,
    bundled: str | None,
) -> tuple[RateLimitService | None, list[ConfigProblem]]:
    if not services:
        return (bundled_service(bundled, module) if bundled else None), []
    first, *later = services
    problems = [
        res.problem(
            "service",
            f"only one RateLimitService per gateway: {first.key} "
            f"({first.source.describe()}) is in use; skipped",
        )
        for res in later
    ]
    service, found = _service(first, module, tls)
    return service, problems + found


def compile_ratelimit(
    resources: Sequence[Resource[Any]],
    module: ModuleConfig,
    module_resource: Resource[Any] | None,
    tls: UpstreamTlsResolver | None = None,
    bundled: str | None = None,
) -> tuple[RateLimiting, list[ConfigProblem]]:
    """The gateway's limiter, its default labels, and the limiter documents."""
    services = [r for r in resources if r.kind == "RateLimitService"]
    service, problems = _chosen_service(services, module, tls, bundled)
    if service is not None:
        labels, found = default_labels(module_resource, module.default_labels, service.domain)
        problems.extend(found)
        service = dataclasses.replace(service, default_labels=labels)
    limits = [r for r in resources if r.kind == "RateLimit"]
    config = limiter_config(limits)
    problems.extend(config.problems)
    documents = tuple(
        LimiterDocument(domain, yaml.safe_dump(doc, sort_keys=False))
        for domain, doc in sorted(config.documents.items())
    )
    return RateLimiting(service, documents), problems
