"""Tracing and access-log services: gateway-wide, applied to every HTTP connection manager."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from legation.ir.clusters import Cluster


class TracingDriver(StrEnum):
    """Envoy's tracer, and the trace context it propagates upstream."""

    ZIPKIN = "zipkin"
    """B3 headers (`x-b3-traceid`, ...), spans POSTed to a Zipkin endpoint."""
    OPENTELEMETRY = "opentelemetry"
    """W3C `traceparent`, spans exported over OTLP/gRPC."""
    DATADOG = "datadog"


class TagSource(StrEnum):
    """Where a custom tag's value comes from."""

    LITERAL = "literal"
    ENVIRONMENT = "environment"
    REQUEST_HEADER = "request_header"


@dataclass(frozen=True, slots=True)
class CustomTag:
    """A tag on every span: a literal, an environment variable or a request header."""

    tag: str
    source: TagSource
    value: str
    """The literal value, or the variable's / header's name."""
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Sampling:
    """Percentages of requests traced (Envoy's `client`, `random`, `overall` sampling)."""

    client: float = 100.0
    random: float = 100.0
    overall: float = 100.0


@dataclass(frozen=True, slots=True)
class Tracing:
    """The gateway's one TracingService."""

    resource: str
    """Key of the TracingService."""
    driver: TracingDriver
    cluster: Cluster
    """The collector's cluster (HTTP/2 for OTLP/gRPC)."""
    service_name: str = "legation"
    """opentelemetry / datadog: the reported service (zipkin reports Envoy's node
    cluster, which is `legation` too)."""
    collector_endpoint: str = "/api/v2/spans"
    collector_endpoint_version: str = "HTTP_JSON"
    collector_hostname: str | None = None
    trace_id_128bit: bool = True
    shared_span_context: bool | None = None
    """None keeps Envoy's default (shared)."""
    sampling: Sampling = Sampling()
    custom_tags: tuple[CustomTag, ...] = ()


class LogDriver(StrEnum):
    """Envoy's gRPC access logger: one entry per HTTP request, or per TCP connection."""

    HTTP = "http"
    TCP = "tcp"


@dataclass(frozen=True, slots=True)
class LogService:
    """One LogService: access-log entries streamed to a gRPC access-log service."""

    resource: str
    """Key of the LogService; also the `log_name` the service receives."""
    driver: LogDriver
    cluster: Cluster
    request_headers: tuple[str, ...] = ()
    response_headers: tuple[str, ...] = ()
    response_trailers: tuple[str, ...] = ()
    flush_interval_ms: int = 1000
    buffer_size_bytes: int = 16384
