"""The `TracingService` and `LogService` kinds: where Envoy sends spans and access logs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from legation.model.common import ServiceName, StrictModel

TRACING_DRIVERS: tuple[str, ...] = ("zipkin", "opentelemetry", "datadog")
"""The tracers legation configures (each is built into Envoy 1.40)."""

_GONE_DRIVERS = {
    "lightstep": "Envoy 1.40 has no LightStep tracer; use opentelemetry",
    "opencensus": "Envoy 1.40 has no OpenCensus tracer; use opentelemetry",
    "jaeger": "Jaeger accepts OTLP and Zipkin: use opentelemetry or zipkin",
}


def _driver(value: str) -> str:
    name = value.strip().lower()
    if name in TRACING_DRIVERS:
        return name
    why = _GONE_DRIVERS.get(name)
    expected = f"expected one of {', '.join(TRACING_DRIVERS)}"
    raise ValueError(
        f"unknown driver {value!r}: {why}" if why else f"unknown driver {value!r}; {expected}"
    )


class TracingConfig(StrictModel):
    """`config`: zipkin's collector settings, or the service name of opentelemetry / datadog."""

    collector_endpoint: str | None = None
    """zipkin: the path spans are POSTed to (default `/api/v2/spans`)."""
    collector_endpoint_version: Literal["HTTP_JSON", "HTTP_PROTO"] | None = None
    collector_hostname: str | None = None
    """zipkin / datadog: Host header of the export requests (default: the service host)."""
    trace_id_128bit: bool | None = None
    shared_span_context: bool | None = None
    service_name: str | None = Field(default=None, min_length=1)
    """opentelemetry / datadog: the service the spans are reported for."""


class Sampling(StrictModel):
    """`sampling`: percentages of requests traced (each 100 by default)."""

    client: float | None = Field(default=None, ge=0, le=100)
    """Requests with `x-client-trace-id` that are traced."""
    random: float | None = Field(default=None, ge=0, le=100)
    """Requests without trace context that start a trace."""
    overall: float | None = Field(default=None, ge=0, le=100)
    """A cap applied after the other two."""


class LiteralTag(StrictModel):
    """A fixed tag value."""

    value: str


class EnvironmentTag(StrictModel):
    """A tag from an environment variable of Envoy."""

    name: str = Field(min_length=1)
    default_value: str | None = None


class HeaderTag(StrictModel):
    """A tag from a request header."""

    name: str = Field(min_length=1)
    default_value: str | None = None


class CustomTag(StrictModel):
    """One `custom_tags` entry: `tag` and exactly one of its sources."""

    tag: str = Field(min_length=1)
    literal: LiteralTag | None = None
    environment: EnvironmentTag | None = None
    request_header: HeaderTag | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CustomTag:
        given = [s for s in (self.literal, self.environment, self.request_header) if s]
        if len(given) != 1:
            raise ValueError(
                f"custom tag {self.tag!r} needs exactly one of literal, environment, "
                f"request_header (got {len(given)})"
            )
        return self


class TracingServiceSpec(StrictModel):
    """The fields of a TracingService (one per gateway)."""

    service: ServiceName
    """The collector, `[scheme://]host[:port]`."""
    driver: Annotated[str, AfterValidator(_driver)]
    config: TracingConfig = Field(default_factory=TracingConfig)
    sampling: Sampling = Field(default_factory=Sampling)
    custom_tags: list[CustomTag] = Field(default_factory=list)
    tag_headers: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """The old form of `custom_tags`: each request header becomes a tag of its name."""
    stats_name: Any = None
    """Accepted for compatibility; no effect."""


class LogHeader(StrictModel):
    """One `additional_log_headers` entry: a header logged on requests and responses."""

    header_name: str = Field(min_length=1)
    during_request: bool = True
    during_response: bool = True
    during_trailer: bool = True


class LogDriverConfig(StrictModel):
    """`driver_config` of a LogService."""

    additional_log_headers: list[LogHeader] = Field(default_factory=list)


class LogServiceSpec(StrictModel):
    """The fields of a LogService: Envoy's gRPC access-log service (ALS v3)."""

    service: ServiceName
    driver: Literal["http", "tcp"]
    """http: one entry per request (with headers); tcp: one per connection."""
    driver_config: LogDriverConfig = Field(default_factory=LogDriverConfig)
    flush_interval_time: int | None = Field(default=None, ge=1)
    """Seconds between flushes of buffered entries (Envoy's default: 1)."""
    flush_interval_byte_size: int | None = Field(default=None, ge=1)
    """Bytes buffered before a flush (Envoy's default: 16384)."""
    grpc: bool | None = None
    """Only the gRPC service exists; `false` is an error."""
    protocol_version: Literal["v3"] | None = None
    stats_name: Any = None
    """Accepted for compatibility; no effect."""
