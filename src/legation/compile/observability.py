"""TracingService and LogService resources → the gateway's `Tracing` and `LogService`s.

Both are gateway-wide: the translator puts them on every HTTP connection manager (over
LDS, so a change needs no Envoy restart) and adds each collector's cluster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from legation.compile.service import ServiceError, cluster_for, parse_service
from legation.ir.clusters import Cluster
from legation.ir.errors import ConfigProblem
from legation.ir.observability import (
    CustomTag,
    LogDriver,
    LogService,
    Sampling,
    TagSource,
    Tracing,
    TracingDriver,
)
from legation.ir.upstream import UpstreamOptions
from legation.model.observability import LogServiceSpec, TracingServiceSpec
from legation.model.resource import Resource

_ZIPKIN_ONLY = ("collector_endpoint", "collector_endpoint_version", "trace_id_128bit",
                "shared_span_context")  # fmt: skip


def _cluster(
    res: Resource[Any], prefix: str, grpc: bool
) -> tuple[Cluster | None, list[ConfigProblem]]:
    """The collector's cluster, named apart from any Mapping's cluster to the same host."""
    try:
        address = parse_service(res.spec.service)
    except ServiceError as exc:
        return None, [res.problem("service", str(exc))]
    cluster = cluster_for(address, res.spec.service, None, UpstreamOptions(http2=grpc))
    cluster = dataclasses.replace(cluster, name=f"{prefix}_{cluster.name}", mappings=(res.key,))
    return cluster, []


def _tags(spec: TracingServiceSpec) -> tuple[CustomTag, ...]:
    tags = []
    for t in spec.custom_tags:
        if t.literal is not None:
            tags.append(CustomTag(t.tag, TagSource.LITERAL, t.literal.value))
        elif t.environment is not None:
            env = t.environment
            tags.append(CustomTag(t.tag, TagSource.ENVIRONMENT, env.name, env.default_value))
        elif t.request_header is not None:
            rh = t.request_header
            tags.append(CustomTag(t.tag, TagSource.REQUEST_HEADER, rh.name, rh.default_value))
    tags.extend(CustomTag(h, TagSource.REQUEST_HEADER, h) for h in spec.tag_headers)
    return tuple(tags)


def _ignored_config(
    res: Resource[TracingServiceSpec], driver: TracingDriver
) -> list[ConfigProblem]:
    """Notices for `config` fields that mean nothing to the chosen driver."""
    config = res.spec.config
    if driver is TracingDriver.ZIPKIN:
        unused = ["service_name"] if config.service_name is not None else []
        why = "zipkin reports Envoy's node cluster (legation) as the service"
    else:
        unused = [f for f in _ZIPKIN_ONLY if getattr(config, f) is not None]
        why = f"only zipkin reads it, not {driver.value}"
    if driver is TracingDriver.OPENTELEMETRY and config.collector_hostname is not None:
        unused.append("collector_hostname")
    return [res.problem(f"config.{f}", f"ignored: {why}", notice=True) for f in unused]


def compile_tracing(
    services: Sequence[Resource[TracingServiceSpec]],
) -> tuple[Tracing | None, list[ConfigProblem]]:
    """The one TracingService in force: the first valid one by key; others are errors."""
    chosen: Tracing | None = None
    problems: list[ConfigProblem] = []
    for res in sorted(services, key=lambda r: r.key):
        if chosen is not None:
            message = (
                f"only one TracingService applies to a gateway; {chosen.resource} is in "
                "force, this one is ignored"
            )
            problems.append(res.problem("driver", message))
            continue
        chosen, found = _tracing(res)
        problems.extend(found)
    return chosen, problems


def _tracing(res: Resource[TracingServiceSpec]) -> tuple[Tracing | None, list[ConfigProblem]]:
    spec = res.spec
    driver = TracingDriver(spec.driver)
    cluster, problems = _cluster(res, "tracing", grpc=driver is TracingDriver.OPENTELEMETRY)
    if cluster is None:
        return None, problems
    problems.extend(_ignored_config(res, driver))
    config, sampling = spec.config, spec.sampling
    tracing = Tracing(
        resource=res.key,
        driver=driver,
        cluster=cluster,
        service_name=config.service_name or "legation",
        collector_endpoint=config.collector_endpoint or "/api/v2/spans",
        collector_endpoint_version=config.collector_endpoint_version or "HTTP_JSON",
        collector_hostname=config.collector_hostname,
        trace_id_128bit=True if config.trace_id_128bit is None else config.trace_id_128bit,
        shared_span_context=config.shared_span_context,
        sampling=Sampling(
            client=100.0 if sampling.client is None else sampling.client,
            random=100.0 if sampling.random is None else sampling.random,
            overall=100.0 if sampling.overall is None else sampling.overall,
        ),
        custom_tags=_tags(spec),
    )
    return tracing, problems


def _log_service(res: Resource[LogServiceSpec]) -> tuple[LogService | None, list[ConfigProblem]]:
    spec = res.spec
    if spec.grpc is False:
        return None, [res.problem("grpc", "only Envoy's gRPC access-log service is supported")]
    cluster, problems = _cluster(res, "logservice", grpc=True)
    if cluster is None:
        return None, problems
    headers = spec.driver_config.additional_log_headers
    driver = LogDriver(spec.driver)
    if driver is LogDriver.TCP and headers:
        problems.append(
            res.problem(
                "driver_config.additional_log_headers",
                "ignored: tcp entries describe connections and carry no headers",
                notice=True,
            )
        )
        headers = []
    service = LogService(
        resource=res.key,
        driver=driver,
        cluster=cluster,
        request_headers=tuple(h.header_name for h in headers if h.during_request),
        response_headers=tuple(h.header_name for h in headers if h.during_response),
        response_trailers=tuple(h.header_name for h in headers if h.during_trailer),
        flush_interval_ms=1000 * (spec.flush_interval_time or 1),
        buffer_size_bytes=spec.flush_interval_byte_size or 16384,
    )
    return service, problems


def compile_log_services(
    services: Sequence[Resource[LogServiceSpec]],
) -> tuple[tuple[LogService, ...], list[ConfigProblem]]:
    """Every valid LogService, sorted by key; each one's problems are its own."""
    out, problems = [], []
    for res in sorted(services, key=lambda r: r.key):
        service, found = _log_service(res)
        problems.extend(found)
        if service is not None:
            out.append(service)
    return tuple(out), problems
