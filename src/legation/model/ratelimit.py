"""Rate-limit kinds: `RateLimitService` (Emissary: where Envoy asks) and `RateLimit`
(the commercial edition's shape: the limits legation configures the bundled limiter with).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from legation.model.common import StrictModel

UNITS = ("second", "minute", "hour", "day")
"""The windows envoyproxy/ratelimit counts in."""


class RateLimitServiceSpec(StrictModel):
    """Emissary's RateLimitService: a gRPC server of `envoy.service.ratelimit.v3`."""

    service: str
    """`[scheme://]host[:port]` of the limiter."""
    domain: str | None = None
    """The descriptor domain (default: the Module's `default_label_domain`, `ambassador`)."""
    protocol_version: Literal["v3"] = "v3"
    failure_mode_deny: bool = False
    """True: a request gets 500 when the limiter cannot answer (default: it passes)."""
    timeout_ms: int = Field(default=20, ge=1)
    tls: str | bool | None = None
    """A TLSContext name (or true) for the connection to the limiter."""
    stats_name: Any = None
    v3GRPCService: Any = None
    v3StatsName: Any = None


class RateLimitHeader(StrictModel):
    """A header the commercial edition adds from a template (`name`, `value`)."""

    name: str
    value: str


class RateLimitRule(StrictModel):
    """One limit: requests whose descriptor matches `pattern` get `rate` per `unit`."""

    pattern: list[dict[str, str]] = Field(min_length=1)
    """Descriptor entries in order; each map gives one or more `key: value` entries.
    An empty value counts each distinct value separately (e.g. per client address)."""
    rate: int = Field(ge=0)
    unit: Literal["second", "minute", "hour", "day"] = "minute"
    name: str | None = None
    action: str = "Enforce"
    """`Enforce`, or `LogOnly` (the limiter's shadow mode: counted, never refused)."""
    injectRequestHeaders: list[RateLimitHeader] | None = None
    injectResponseHeaders: list[RateLimitHeader] | None = None
    errorResponse: Any = None
    burst: Any = None

    @field_validator("unit", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("action")
    @classmethod
    def _action(cls, value: str) -> str:
        if value.lower() not in ("enforce", "logonly"):
            raise ValueError(f"action must be Enforce or LogOnly (got {value!r})")
        return "LogOnly" if value.lower() == "logonly" else "Enforce"


class RateLimitSpec(StrictModel):
    """The commercial edition's RateLimit: limits for one descriptor domain."""

    domain: str = Field(min_length=1)
    limits: list[RateLimitRule] = Field(min_length=1)


class LocalRateLimitSpec(StrictModel):
    """legation's `local_rate_limit` (not in Emissary): a token bucket in each Envoy.

    `requests` per `unit` are let through; up to `burst` (default: `requests`) at once.
    """

    requests: int = Field(ge=1)
    unit: Literal["second", "minute", "hour"] = "second"
    burst: int | None = Field(default=None, ge=1)

    @field_validator("unit", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


RATE_LIMIT_NOT_YET: tuple[str, ...] = (
    "injectRequestHeaders", "injectResponseHeaders", "errorResponse", "burst",
)  # fmt: skip
"""RateLimit rule fields that load but have no effect yet; each use gets a notice."""
