"""The `ambassador` Module's connection-manager options and HTTP filters → IR.

Emissary semantics: `ip_allow` and `ip_deny` exclude each other (the allow list is
kept); `buffer.max_request_time` no longer exists in Envoy (a notice).
"""

from __future__ import annotations

from typing import Any

from legation.compile.error_response import error_responses
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.http import (
    GrpcStats,
    Gzip,
    HttpFilterSettings,
    HttpSettings,
    IpPolicy,
    IpRule,
)
from legation.model.module import ModuleConfig
from legation.model.module_filters import GzipSpec, IpPrincipal
from legation.model.resource import Resource


def http_settings(config: ModuleConfig) -> HttpSettings:
    """Connection manager options; unset fields keep Envoy's defaults."""
    details = config.set_current_client_cert_details
    return HttpSettings(
        server_name=config.server_name,
        proxy_protocol=bool(config.use_proxy_proto),
        accept_http_10=config.enable_http10,
        proper_case_headers=bool(config.proper_case),
        allow_chunked_length=config.allow_chunked_length,
        # as in Emissary, 0 leaves Envoy's default (in Envoy, 0 would mean no timeout)
        idle_timeout_ms=config.listener_idle_timeout_ms or None,
        headers_with_underscores=config.headers_with_underscores_action,
        max_request_headers_kb=config.max_request_headers_kb,
        preserve_external_request_id=config.preserve_external_request_id,
        reject_escaped_slashes=bool(config.reject_requests_with_escaped_slashes),
        forward_client_cert_details=config.forward_client_cert_details,
        set_current_client_cert_details=tuple(
            name for name, on in details.model_dump().items() if on
        )
        if details is not None
        else (),
        buffer_limit_bytes=config.buffer_limit_bytes,
    )


def _gzip(spec: GzipSpec) -> Gzip:
    return Gzip(
        memory_level=spec.memory_level,
        min_content_length=spec.min_content_length,
        compression_level=spec.compression_level,
        compression_strategy=spec.compression_strategy,
        window_bits=spec.window_bits,
        content_types=tuple(spec.content_type),
        disable_on_etag_header=spec.disable_on_etag_header,
        remove_accept_encoding_header=spec.remove_accept_encoding_header,
    )


def _ip_policy(allow: bool, principals: list[IpPrincipal]) -> IpPolicy:
    return IpPolicy(allow, tuple(IpRule(p.kind, p.network) for p in principals))


def _notice(module: Resource[Any] | None, field: str, message: str) -> list[ConfigProblem]:
    if module is None:
        return []
    return [
        ConfigProblem(
            module.field_source(f"config.{field}"),
            module.key,
            message,
            field=f"{module.spec_path}config.{field}",
            severity=Severity.NOTICE,
        )
    ]


def http_filter_settings(
    config: ModuleConfig, module: Resource[Any] | None, route_error_responses: bool = False
) -> tuple[HttpFilterSettings, list[ConfigProblem]]:
    """Which optional filters run, from the Module (`module` is where problems point)."""
    problems: list[ConfigProblem] = []
    ip_policy = None
    # As in Emissary, an allow list with no valid entry counts as not given.
    if config.ip_allow:
        ip_policy = _ip_policy(True, config.ip_allow)
        if config.ip_deny is not None:
            problems += _notice(module, "ip_deny", "ip_allow and ip_deny may not both be set; "
                                "ip_deny is ignored")  # fmt: skip
    elif config.ip_deny:
        ip_policy = _ip_policy(False, config.ip_deny)
    if config.buffer is not None and config.buffer.max_request_time is not None:
        problems += _notice(module, "buffer.max_request_time", "no longer supported by "
                            "Envoy; ignored")  # fmt: skip
    stats = config.grpc_stats
    settings = HttpFilterSettings(
        gzip=_gzip(config.gzip) if config.gzip is not None else None,
        buffer_max_request_bytes=config.buffer.max_request_bytes if config.buffer else None,
        grpc_web=bool(config.enable_grpc_web),
        grpc_http1_bridge=bool(config.enable_grpc_http11_bridge),
        grpc_stats=GrpcStats(
            all_methods=stats.all_methods,
            services=tuple((s.name, tuple(s.method_names)) for s in stats.services)
            if stats.services is not None
            else None,
            upstream_stats=stats.upstream_stats,
        )
        if stats is not None
        else None,
        lua_code=config.lua_scripts or None,
        ip_policy=ip_policy,
        error_responses=error_responses(config.error_response_overrides or ()),
        route_error_responses=route_error_responses,
        suppress_envoy_headers=bool(config.suppress_envoy_headers),
    )
    return settings, problems
