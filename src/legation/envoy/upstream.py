"""IR `UpstreamOptions` → fields of an Envoy `Cluster`."""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import circuit_breaker_pb2, cluster_pb2, outlier_detection_pb2
from envoy.config.core.v3 import (
    address_pb2,
    base_pb2,
    health_check_pb2,
    protocol_pb2,
)
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo
from envoy.type.v3 import range_pb2
from google.protobuf import any_pb2, wrappers_pb2

from legation.envoy.route_options import duration_ms
from legation.ir.upstream import (
    CircuitBreaker,
    HealthCheck,
    HealthCheckKind,
    IpFamily,
    LbPolicy,
    OutlierDetection,
    UpstreamOptions,
)

HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

_LB = {
    LbPolicy.ROUND_ROBIN: cluster_pb2.Cluster.ROUND_ROBIN,
    LbPolicy.LEAST_REQUEST: cluster_pb2.Cluster.LEAST_REQUEST,
    LbPolicy.RING_HASH: cluster_pb2.Cluster.RING_HASH,
    LbPolicy.MAGLEV: cluster_pb2.Cluster.MAGLEV,
}
_PRIORITY = {"default": base_pb2.DEFAULT, "high": base_pb2.HIGH}
_FAMILY = {
    IpFamily.V4_ONLY: cluster_pb2.Cluster.V4_ONLY,
    IpFamily.V6_ONLY: cluster_pb2.Cluster.V6_ONLY,
    IpFamily.AUTO: cluster_pb2.Cluster.AUTO,
}


def _u32(value: int) -> Any:
    return wrappers_pb2.UInt32Value(value=value)


def _thresholds(b: CircuitBreaker) -> Any:
    t = circuit_breaker_pb2.CircuitBreakers.Thresholds(priority=_PRIORITY[b.priority])
    for name in ("max_connections", "max_pending_requests", "max_requests", "max_retries"):
        value = getattr(b, name)
        if value is not None:
            getattr(t, name).CopyFrom(_u32(value))
    return t


def _outlier(od: OutlierDetection) -> Any:
    out = outlier_detection_pb2.OutlierDetection()
    for name in (
        "consecutive_5xx",
        "consecutive_gateway_failure",
        "enforcing_consecutive_5xx",
        "enforcing_consecutive_gateway_failure",
        "max_ejection_percent",
    ):
        value = getattr(od, name)
        if value is not None:
            getattr(out, name).CopyFrom(_u32(value))
    for ms_name, field in (
        ("interval_ms", "interval"),
        ("base_ejection_time_ms", "base_ejection_time"),
        ("max_ejection_time_ms", "max_ejection_time"),
    ):
        value = getattr(od, ms_name)
        if value is not None:
            getattr(out, field).CopyFrom(duration_ms(value))
    return out


def _text_payload(text: str) -> Any:
    return health_check_pb2.HealthCheck.Payload(text=text.encode().hex())


def _health_check(hc: HealthCheck) -> Any:
    out = health_check_pb2.HealthCheck(
        timeout=duration_ms(hc.timeout_ms),
        interval=duration_ms(hc.interval_ms),
        # Envoy would check a cluster that never had traffic only once a minute; the
        # interval written in the Mapping holds from the start instead.
        no_traffic_interval=duration_ms(hc.interval_ms),
        healthy_threshold=_u32(hc.healthy_threshold),
        unhealthy_threshold=_u32(hc.unhealthy_threshold),
    )
    if hc.kind is HealthCheckKind.HTTP:
        append = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD
        overwrite = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
        out.http_health_check.CopyFrom(
            health_check_pb2.HealthCheck.HttpHealthCheck(
                path=hc.path or "/",
                host=hc.host or "",
                request_headers_to_add=[
                    base_pb2.HeaderValueOption(
                        header=base_pb2.HeaderValue(key=n, value=v),
                        append_action=append if a else overwrite,
                    )
                    for n, v, a in hc.add_headers
                ],
                request_headers_to_remove=list(hc.remove_headers),
                # Envoy's ranges are half-open: [start, end)
                expected_statuses=[
                    range_pb2.Int64Range(start=lo, end=hi + 1) for lo, hi in hc.expected_statuses
                ],
            )
        )
    elif hc.kind is HealthCheckKind.GRPC:
        out.grpc_health_check.CopyFrom(
            health_check_pb2.HealthCheck.GrpcHealthCheck(
                service_name=hc.service_name or "", authority=hc.host or ""
            )
        )
    else:
        tcp = health_check_pb2.HealthCheck.TcpHealthCheck(
            receive=[_text_payload(r) for r in hc.receive]
        )
        if hc.send is not None:
            tcp.send.CopyFrom(_text_payload(hc.send))
        out.tcp_health_check.CopyFrom(tcp)
    return out


def _protocol_options(options: UpstreamOptions) -> Any | None:
    """HttpProtocolOptions when the cluster needs HTTP/2 or connection lifetimes."""
    common = protocol_pb2.HttpProtocolOptions()
    if options.idle_timeout_ms is not None:
        common.idle_timeout.CopyFrom(duration_ms(options.idle_timeout_ms))
    if options.max_connection_lifetime_ms is not None:
        common.max_connection_duration.CopyFrom(duration_ms(options.max_connection_lifetime_ms))
    if not options.http2 and common == protocol_pb2.HttpProtocolOptions():
        return None
    explicit = hpo.HttpProtocolOptions.ExplicitHttpConfig()
    if options.http2:
        explicit.http2_protocol_options.CopyFrom(protocol_pb2.Http2ProtocolOptions())
    else:
        explicit.http_protocol_options.CopyFrom(protocol_pb2.Http1ProtocolOptions())
    return hpo.HttpProtocolOptions(
        common_http_protocol_options=common, explicit_http_config=explicit
    )


def apply_upstream_options(options: UpstreamOptions, message: Any) -> None:
    """Set load balancing, limits, health checks and protocol options on a Cluster."""
    message.lb_policy = _LB[options.lb_policy]
    if options.circuit_breakers:
        message.circuit_breakers.thresholds.extend(_thresholds(b) for b in options.circuit_breakers)
    if options.outlier_detection is not None:
        message.outlier_detection.CopyFrom(_outlier(options.outlier_detection))
    message.health_checks.extend(_health_check(h) for h in options.health_checks)
    if options.keepalive is not None:
        ka = address_pb2.TcpKeepalive()
        for name, value in (
            ("keepalive_time", options.keepalive.idle_time),
            ("keepalive_interval", options.keepalive.interval),
            ("keepalive_probes", options.keepalive.probes),
        ):
            if value is not None:
                getattr(ka, name).CopyFrom(_u32(value))
        message.upstream_connection_options.tcp_keepalive.CopyFrom(ka)
    protocol = _protocol_options(options)
    if protocol is not None:
        packed = any_pb2.Any()
        packed.Pack(protocol)
        message.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].CopyFrom(packed)
    if options.stats_name is not None:
        message.alt_stat_name = options.stats_name
    if options.respect_dns_ttl:
        message.respect_dns_ttl = True
    if options.ip_family is not None and message.type != cluster_pb2.Cluster.EDS:
        message.dns_lookup_family = _FAMILY[options.ip_family]
