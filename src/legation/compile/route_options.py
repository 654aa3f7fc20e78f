"""A Mapping's route-level settings (with the Module's defaults) → `RouteOptions`."""

from __future__ import annotations

from legation.compile.error_response import error_responses
from legation.compile.labels import mapping_labels
from legation.compile.regex import regex_error
from legation.compile.service import ServiceAddress
from legation.compile.upstream_options import MappingDefaults
from legation.ir.errors import ConfigProblem
from legation.ir.policies import (
    CorsPolicy,
    HashOn,
    HashPolicy,
    Redirect,
    RetryPolicy,
    RouteOptions,
)
from legation.ir.ratelimit import LocalRateLimit
from legation.model.mapping import MappingSpec
from legation.model.ratelimit import LocalRateLimitSpec
from legation.model.resource import Resource
from legation.model.traffic import CorsSpec, LoadBalancerSpec, RetryPolicySpec

_REDIRECT_FIELDS = ("path_redirect", "prefix_redirect", "regex_redirect")


def _retry(spec: RetryPolicySpec | None) -> RetryPolicy | None:
    if spec is None:
        return None
    return RetryPolicy(spec.retry_on, spec.num_retries, spec.per_try_timeout)


def _cors(spec: CorsSpec | None) -> CorsPolicy | None:
    if spec is None:
        return None
    return CorsPolicy(
        origins=tuple(spec.origins),
        methods=tuple(spec.methods),
        headers=tuple(spec.headers),
        exposed_headers=tuple(spec.exposed_headers),
        credentials=spec.credentials,
        max_age=spec.max_age,
    )


def _hash_policy(lb: LoadBalancerSpec | None) -> HashPolicy | None:
    if lb is None:
        return None
    if lb.cookie is not None:
        return HashPolicy(HashOn.COOKIE, lb.cookie.name, lb.cookie.path, lb.cookie.ttl)
    if lb.header is not None:
        return HashPolicy(HashOn.HEADER, lb.header.lower())
    if lb.source_ip:
        return HashPolicy(HashOn.SOURCE_IP)
    return None


def _explicit_port(service: str) -> bool:
    rest = service.split("://", 1)[-1].rstrip("/")
    return ":" in rest and not rest.endswith("]") and rest.rsplit(":", 1)[1].isdigit()


def _redirect(
    res: Resource[MappingSpec], address: ServiceAddress
) -> tuple[Redirect | None, list[ConfigProblem]]:
    spec = res.spec
    given = [f for f in _REDIRECT_FIELDS if getattr(spec, f) is not None]
    if not spec.host_redirect:
        unused = [*given, *(["redirect_response_code"] if spec.redirect_response_code else [])]
        return None, [
            res.problem(f, "has no effect without host_redirect: true", notice=True) for f in unused
        ]
    if len(given) > 1:
        return None, [res.problem(given[1], f"set only one of {', '.join(_REDIRECT_FIELDS)}")]
    if spec.regex_redirect is not None:
        # checked as Envoy will check it: RE2 syntax and program size
        reason = regex_error(spec.regex_redirect.pattern)
        if reason is not None:
            return None, [
                res.problem("regex_redirect.pattern", f"invalid regular expression: {reason}")
            ]
    regex = spec.regex_redirect
    return Redirect(
        host=address.host,
        port=address.port if _explicit_port(spec.service) else None,
        https=address.tls,
        path=spec.path_redirect,
        prefix=spec.prefix_redirect,
        regex_pattern=regex.pattern if regex else None,
        regex_substitution=regex.substitution if regex else None,
        response_code=spec.redirect_response_code or 301,
    ), []


UNIT_MS = {"second": 1000, "minute": 60_000, "hour": 3_600_000}


def local_rate_limit(spec: LocalRateLimitSpec | None) -> LocalRateLimit | None:
    """`local_rate_limit`: `requests` tokens every unit, a bucket of `burst` (or `requests`)."""
    if spec is None:
        return None
    burst = spec.burst if spec.burst is not None else spec.requests
    return LocalRateLimit(spec.requests, UNIT_MS[spec.unit], burst)


def route_options(
    res: Resource[MappingSpec], address: ServiceAddress, defaults: MappingDefaults
) -> tuple[RouteOptions, list[ConfigProblem]]:
    """Retries, CORS, hashing, upgrades, host rewrite and redirect of one Mapping.

    Problems of severity error mean the Mapping must be left out.
    """
    spec = res.spec
    problems: list[ConfigProblem] = []
    if spec.host_rewrite is not None and spec.auto_host_rewrite:
        problems.append(
            res.problem("auto_host_rewrite", "set only one of host_rewrite, auto_host_rewrite")
        )
    redirect, redirect_problems = _redirect(res, address)
    problems.extend(redirect_problems)
    upgrades = {u.lower() for u in spec.allow_upgrade}
    if spec.use_websocket:
        upgrades.add("websocket")
    labels, label_problems = mapping_labels(res)
    problems.extend(label_problems)
    lb = spec.load_balancer if spec.load_balancer is not None else defaults.load_balancer
    options = RouteOptions(
        retry=_retry(spec.retry_policy if spec.retry_policy is not None else defaults.retry_policy),
        cors=_cors(spec.cors if spec.cors is not None else defaults.cors),
        hash_policy=_hash_policy(lb),
        upgrades=tuple(sorted(upgrades)),
        host_rewrite=spec.host_rewrite,
        auto_host_rewrite=spec.auto_host_rewrite,
        idle_timeout_ms=spec.idle_timeout_ms,
        redirect=redirect,
        high_priority=spec.priority == "high",
        error_responses=error_responses(spec.error_response_overrides)
        if spec.error_response_overrides is not None
        else None,
        bypass_error_responses=spec.bypass_error_response_overrides,
        bypass_auth=spec.bypass_auth,
        auth_context_extensions=tuple(sorted((spec.auth_context_extensions or {}).items())),
        labels=labels,
        local_rate_limit=local_rate_limit(spec.local_rate_limit),
    )
    return options, problems
