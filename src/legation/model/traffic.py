"""Typed sub-objects of a Mapping that shape traffic: retries, CORS, load balancing,
circuit breakers, outlier detection, health checks and TCP keepalive.

The `ambassador` Module reuses some of them as gateway-wide defaults.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, field_validator, model_validator

from legation.model.common import HeaderSpec, StrictModel
from legation.model.durations import DurationMs

RETRY_ON: frozenset[str] = frozenset(
    {
        "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure",
        "envoy-ratelimited", "retriable-4xx", "refused-stream", "retriable-status-codes",
        "retriable-headers", "http3-post-connect-failure", "cancelled", "deadline-exceeded",
        "internal", "resource-exhausted", "unavailable",
    }
)  # fmt: skip
"""Conditions Envoy can retry on (HTTP and gRPC); `retry_on` is a comma-separated list."""


def _comma_list(value: Any) -> Any:
    """Ambassador accepts `"a, b"` as well as a YAML list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], BeforeValidator(_comma_list)]
"""A list of strings, also written as one comma-separated string."""


class RetryPolicySpec(StrictModel):
    """`retry_policy`: when and how often Envoy retries a failed request."""

    retry_on: str
    num_retries: int | None = Field(default=None, ge=0)
    per_try_timeout: DurationMs | None = Field(default=None, gt=0)

    @field_validator("retry_on")
    @classmethod
    def _known_conditions(cls, value: str) -> str:
        conditions = _comma_list(value)
        unknown = [c for c in conditions if c not in RETRY_ON]
        if unknown or not conditions:
            raise ValueError(
                f"unknown retry condition(s) {unknown or [value]}; "
                f"expected one or more of {', '.join(sorted(RETRY_ON))}"
            )
        return ",".join(conditions)


class CorsSpec(StrictModel):
    """`cors`: Envoy answers preflights and adds CORS headers for allowed origins.

    Each list may also be written as one comma-separated string; origin `*` allows all.
    """

    origins: CommaList = Field(default_factory=list)
    methods: CommaList = Field(default_factory=list)
    headers: CommaList = Field(default_factory=list)
    exposed_headers: CommaList = Field(default_factory=list)
    credentials: bool | None = None
    max_age: (
        Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] | None
    ) = None

    @model_validator(mode="after")
    def _max_age_seconds(self) -> CorsSpec:
        if self.max_age is not None and not self.max_age.isdigit():
            raise ValueError(f"max_age must be a number of seconds, got {self.max_age!r}")
        return self


class CookieSpec(StrictModel):
    """`load_balancer.cookie`: hash on this cookie; Envoy sets it when `ttl` is given."""

    name: str = Field(min_length=1)
    path: str | None = None
    ttl: DurationMs | None = None


LoadBalancerPolicy = Literal["round_robin", "least_request", "ring_hash", "maglev"]


class LoadBalancerSpec(StrictModel):
    """`load_balancer`: the policy, and for ring_hash / maglev what to hash on."""

    policy: LoadBalancerPolicy
    cookie: CookieSpec | None = None
    header: str | None = Field(default=None, min_length=1)
    source_ip: bool | None = None

    @model_validator(mode="after")
    def _hashing(self) -> LoadBalancerSpec:
        chosen = [
            n for n in ("cookie", "header", "source_ip") if getattr(self, n) not in (None, False)
        ]
        if len(chosen) > 1:
            raise ValueError(f"set only one of cookie, header, source_ip (got {', '.join(chosen)})")
        if chosen and self.policy not in ("ring_hash", "maglev"):
            raise ValueError(
                f"{chosen[0]} hashing needs policy ring_hash or maglev, not {self.policy}"
            )
        return self


class CircuitBreakerSpec(StrictModel):
    """One entry of `circuit_breakers`: limits for one routing priority."""

    priority: Literal["default", "high"] = "default"
    max_connections: int | None = Field(default=None, ge=0)
    max_pending_requests: int | None = Field(default=None, ge=0)
    max_requests: int | None = Field(default=None, ge=0)
    max_retries: int | None = Field(default=None, ge=0)


class OutlierDetectionSpec(StrictModel):
    """`outlier_detection`: eject endpoints that keep failing (Envoy's field names)."""

    consecutive_5xx: int | None = Field(default=None, ge=0)
    consecutive_gateway_failure: int | None = Field(default=None, ge=0)
    enforcing_consecutive_5xx: int | None = Field(default=None, ge=0, le=100)
    enforcing_consecutive_gateway_failure: int | None = Field(default=None, ge=0, le=100)
    interval: DurationMs | None = Field(default=None, gt=0)
    base_ejection_time: DurationMs | None = Field(default=None, gt=0)
    max_ejection_time: DurationMs | None = Field(default=None, gt=0)
    max_ejection_percent: int | None = Field(default=None, ge=0, le=100)


class StatusRangeSpec(StrictModel):
    """An inclusive range of HTTP statuses a health check accepts."""

    min: int = Field(ge=100, le=599)
    max: int = Field(ge=100, le=599)

    @model_validator(mode="after")
    def _ordered(self) -> StatusRangeSpec:
        if self.max < self.min:
            raise ValueError(f"max ({self.max}) must not be below min ({self.min})")
        return self


class HttpHealthCheckSpec(StrictModel):
    """`health_check.http`: GET `path`; healthy on 200 or an `expected_statuses` range."""

    path: str = Field(min_length=1)
    hostname: str | None = None
    add_request_headers: dict[str, HeaderSpec] = Field(default_factory=dict)
    remove_request_headers: list[str] = Field(default_factory=list)
    expected_statuses: list[StatusRangeSpec] = Field(default_factory=list)


class GrpcHealthCheckSpec(StrictModel):
    """`health_check.grpc`: the standard gRPC health service."""

    upstream_name: str
    authority: str | None = None


class TcpHealthCheckSpec(StrictModel):
    """`health_check.tcp`: connect (and optionally send text, expect text back)."""

    send: str | None = None
    receive: list[str] = Field(default_factory=list)


class HealthCheckKindSpec(StrictModel):
    """`health_check`: exactly one of `http`, `grpc`, `tcp`."""

    http: HttpHealthCheckSpec | None = None
    grpc: GrpcHealthCheckSpec | None = None
    tcp: TcpHealthCheckSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> HealthCheckKindSpec:
        chosen = [n for n in ("http", "grpc", "tcp") if getattr(self, n) is not None]
        if len(chosen) != 1:
            raise ValueError(f"set exactly one of http, grpc, tcp (got {chosen or 'none'})")
        return self


class HealthCheckSpec(StrictModel):
    """One entry of `health_checks`: an active health check of the service's endpoints."""

    health_check: HealthCheckKindSpec
    timeout: DurationMs = Field(default=3000, gt=0)
    interval: DurationMs = Field(default=5000, gt=0)
    healthy_threshold: int = Field(default=1, ge=1)
    unhealthy_threshold: int = Field(default=2, ge=1)


class KeepaliveSpec(StrictModel):
    """`keepalive`: TCP keepalive on upstream connections (seconds; `time` = `idle_time`)."""

    idle_time: int | None = Field(
        default=None, ge=1, validation_alias=AliasChoices("idle_time", "time")
    )
    interval: int | None = Field(default=None, ge=1)
    probes: int | None = Field(default=None, ge=1)
