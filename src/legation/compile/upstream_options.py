"""A Mapping's cluster-level settings (with the Module's defaults) → `UpstreamOptions`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from legation.ir.upstream import (
    CircuitBreaker,
    HealthCheck,
    HealthCheckKind,
    Keepalive,
    LbPolicy,
    OutlierDetection,
    UpstreamOptions,
)
from legation.model.common import HeaderValue
from legation.model.mapping import MappingSpec
from legation.model.module import ModuleConfig
from legation.model.traffic import (
    CircuitBreakerSpec,
    CorsSpec,
    HealthCheckSpec,
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

    @classmethod
    def from_module(cls, module: ModuleConfig) -> MappingDefaults:
        """The defaults carried by the Module's config."""
        breakers = module.circuit_breakers
        return cls(
            cors=module.cors,
            retry_policy=module.retry_policy,
            load_balancer=module.load_balancer,
            circuit_breakers=tuple(breakers) if breakers is not None else None,
        )


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
    ka = spec.keepalive
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
        idle_timeout_ms=spec.cluster_idle_timeout_ms,
        max_connection_lifetime_ms=spec.cluster_max_connection_lifetime_ms,
        stats_name=spec.stats_name,
    )
