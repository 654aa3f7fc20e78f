"""A Mapping's cluster-level settings (with the Module's defaults) → `UpstreamOptions`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from legation.ir.upstream import (
    CircuitBreaker,
    HealthCheck,
    HealthCheckKind,
    IpFamily,
    Keepalive,
    LbPolicy,
    OutlierDetection,
    UpstreamOptions,
)
from legation.model.common import HeaderSpec, HeaderValue
from legation.model.mapping import MappingSpec
from legation.model.mapping_defaults import MappingFieldDefaults
from legation.model.module import ModuleConfig
from legation.model.traffic import (
    CircuitBreakerSpec,
    CorsSpec,
    HealthCheckSpec,
    KeepaliveSpec,
    LoadBalancerSpec,
    RetryPolicySpec,
)


@dataclass(frozen=True, slots=True)
class MappingDefaults:
    """What the `ambassador` Module supplies to Mappings that do not set their own."""

    cors: CorsSpec | None = None
    retry_policy: RetryPolicySpec | None = None
    load_balancer: LoadBalancerSpec | None = None
    circuit_breakers: tuple[CircuitBreakerSpec, ...] | None = None
    timeout_ms: int | None = None
    cluster_idle_timeout_ms: int | None = None
    cluster_max_connection_lifetime_ms: int | None = None
    keepalive: KeepaliveSpec | None = None
    add_linkerd_headers: bool = False
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    fields: MappingFieldDefaults = field(default_factory=MappingFieldDefaults)
    """The Module's `defaults` block (headers, stats_name)."""
    mapping_stats: bool = True
    """Whether Mappings' routes get a `stat_prefix` (the Module's `mapping_stats`)."""

    @classmethod
    def from_module(
        cls, module: ModuleConfig, fields: MappingFieldDefaults | None = None
    ) -> MappingDefaults:
        """The defaults carried by the Module's config (and its `defaults` block)."""
        breakers = module.circuit_breakers
        return cls(
            cors=module.cors,
            retry_policy=module.retry_policy,
            load_balancer=module.load_balancer,
            circuit_breakers=tuple(breakers) if breakers is not None else None,
            timeout_ms=module.cluster_request_timeout_ms,
            cluster_idle_timeout_ms=module.cluster_idle_timeout_ms,
            cluster_max_connection_lifetime_ms=module.cluster_max_connection_lifetime_ms,
            keepalive=module.keepalive,
            add_linkerd_headers=bool(module.add_linkerd_headers),
            enable_ipv4=module.enable_ipv4,
            enable_ipv6=module.enable_ipv6,
            fields=fields if fields is not None else MappingFieldDefaults(),
            mapping_stats=module.mapping_stats,
        )


def ip_family(spec: MappingSpec, defaults: MappingDefaults) -> IpFamily | None:
    """DNS address families from `enable_ipv4` / `enable_ipv6` (Mapping, then Module).

    Neither set anywhere: None (legation's default, IPv4 preferred). Otherwise as in
    Emissary, where IPv4 defaults to on and IPv6 to off.
    """
    v4 = spec.enable_ipv4 if spec.enable_ipv4 is not None else defaults.enable_ipv4
    v6 = spec.enable_ipv6 if spec.enable_ipv6 is not None else defaults.enable_ipv6
    if v4 is None and v6 is None:
        return None
    if v6:
        return IpFamily.AUTO if v4 is not False else IpFamily.V6_ONLY
    return IpFamily.V4_ONLY


def _health_check(spec: HealthCheckSpec) -> HealthCheck:
    kind = spec.health_check
    which = (
        HealthCheckKind.HTTP
        if kind.http
        else HealthCheckKind.GRPC
        if kind.grpc
        else HealthCheckKind.TCP
    )
    check = HealthCheck(
        which,
        timeout_ms=spec.timeout,
        interval_ms=spec.interval,
        healthy_threshold=spec.healthy_threshold,
        unhealthy_threshold=spec.unhealthy_threshold,
    )
    if kind.http is not None:
        http = kind.http
        return replace(
            check,
            path=http.path,
            host=http.hostname,
            add_headers=tuple(
                (n, v.value, v.append) if isinstance(v, HeaderValue) else (n, v, True)
                for n, v in sorted(http.add_request_headers.items())
            ),
            remove_headers=tuple(http.remove_request_headers),
            expected_statuses=tuple((r.min, r.max) for r in http.expected_statuses),
        )
    if kind.grpc is not None:
        return replace(check, service_name=kind.grpc.upstream_name, host=kind.grpc.authority)
    if kind.tcp is not None:
        return replace(check, send=kind.tcp.send, receive=tuple(kind.tcp.receive))
    return check


def upstream_options(spec: MappingSpec, defaults: MappingDefaults) -> UpstreamOptions:
    """The cluster settings of one Mapping; the Module's apply where it sets none."""
    lb = spec.load_balancer if spec.load_balancer is not None else defaults.load_balancer
    breakers = (
        tuple(spec.circuit_breakers)
        if spec.circuit_breakers is not None
        else defaults.circuit_breakers or ()
    )
    od = spec.outlier_detection
    ka = spec.keepalive if spec.keepalive is not None else defaults.keepalive
    idle = spec.cluster_idle_timeout_ms
    lifetime = spec.cluster_max_connection_lifetime_ms
    stats_name = spec.stats_name if spec.stats_name is not None else defaults.fields.stats_name
    return UpstreamOptions(
        lb_policy=LbPolicy(lb.policy) if lb is not None else LbPolicy.ROUND_ROBIN,
        circuit_breakers=tuple(
            CircuitBreaker(
                b.priority, b.max_connections, b.max_pending_requests, b.max_requests, b.max_retries
            )
            for b in breakers
        ),
        outlier_detection=OutlierDetection(
            consecutive_5xx=od.consecutive_5xx,
            consecutive_gateway_failure=od.consecutive_gateway_failure,
            enforcing_consecutive_5xx=od.enforcing_consecutive_5xx,
            enforcing_consecutive_gateway_failure=od.enforcing_consecutive_gateway_failure,
            interval_ms=od.interval,
            base_ejection_time_ms=od.base_ejection_time,
            max_ejection_time_ms=od.max_ejection_time,
            max_ejection_percent=od.max_ejection_percent,
        )
        if od is not None
        else None,
        health_checks=tuple(_health_check(h) for h in spec.health_checks or ()),
        keepalive=Keepalive(ka.idle_time, ka.interval, ka.probes) if ka is not None else None,
        http2=spec.grpc,
        idle_timeout_ms=idle if idle is not None else defaults.cluster_idle_timeout_ms,
        max_connection_lifetime_ms=lifetime
        if lifetime is not None
        else defaults.cluster_max_connection_lifetime_ms,
        stats_name=stats_name,
        respect_dns_ttl=spec.respect_dns_ttl,
        ip_family=ip_family(spec, defaults),
        tag=spec.cluster_tag,
    )


@dataclass(frozen=True, slots=True)
class HeaderSettings:
    """A Mapping's header changes after the Module's `defaults` are applied."""

    add_request_headers: dict[str, HeaderSpec]
    add_response_headers: dict[str, HeaderSpec]
    remove_request_headers: list[str]
    remove_response_headers: list[str]


def header_settings(spec: MappingSpec, defaults: MappingDefaults) -> HeaderSettings:
    """Each header field as written, or the Module's default when the Mapping omits it."""
    given = spec.model_fields_set
    d = defaults.fields

    def pick(name: str, default: Any) -> Any:
        return getattr(spec, name) if name in given or default is None else default

    return HeaderSettings(
        add_request_headers=pick("add_request_headers", d.add_request_headers),
        add_response_headers=pick("add_response_headers", d.add_response_headers),
        remove_request_headers=pick("remove_request_headers", d.remove_request_headers),
        remove_response_headers=pick("remove_response_headers", d.remove_response_headers),
    )
