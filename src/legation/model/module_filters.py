"""Typed blocks of the `ambassador` Module that turn on an Envoy HTTP filter:
`gzip`, `buffer`, `grpc_stats`, and the principals of `ip_allow` / `ip_deny`."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from legation.model.common import StrictModel

COMPRESSION_LEVELS: dict[str, str] = {
    **{name: name for name in ("DEFAULT_COMPRESSION", "BEST_SPEED", "BEST_COMPRESSION")},
    **{f"COMPRESSION_LEVEL_{n}": f"COMPRESSION_LEVEL_{n}" for n in range(1, 10)},
    # the spellings of Envoy's older gzip filter, still in many manifests
    "DEFAULT": "DEFAULT_COMPRESSION",
    "SPEED": "BEST_SPEED",
    "BEST": "BEST_COMPRESSION",
}
"""Accepted `gzip.compression_level` values → Envoy's name for each."""
COMPRESSION_STRATEGIES = ("DEFAULT_STRATEGY", "FILTERED", "HUFFMAN_ONLY", "RLE", "FIXED")


class GzipSpec(StrictModel):
    """`gzip`: compress responses for clients that send `Accept-Encoding: gzip`."""

    memory_level: int | None = Field(default=None, ge=1, le=9)
    min_content_length: int | None = Field(default=None, ge=0)
    """Smallest body compressed, in bytes (Envoy's default: 30)."""
    compression_level: str | None = None
    compression_strategy: str | None = None
    window_bits: int | None = Field(default=None, ge=9, le=15)
    content_type: list[str] = Field(default_factory=list)
    """Content types compressed (Envoy's default: text, JSON, JavaScript, XML, SVG...)."""
    disable_on_etag_header: bool | None = None
    remove_accept_encoding_header: bool | None = None

    @field_validator("compression_level")
    @classmethod
    def _level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        found = COMPRESSION_LEVELS.get(value.upper())
        if found is None:
            raise ValueError(
                f"unknown compression_level {value!r}; "
                f"expected one of {', '.join(COMPRESSION_LEVELS)}"
            )
        return found

    @field_validator("compression_strategy")
    @classmethod
    def _strategy(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in COMPRESSION_STRATEGIES:
            raise ValueError(
                f"unknown compression_strategy {value!r}; "
                f"expected one of {', '.join(COMPRESSION_STRATEGIES)}"
            )
        return value.upper() if value else None


class BufferSpec(StrictModel):
    """`buffer`: Envoy reads whole request bodies (up to a limit) before routing."""

    max_request_bytes: int = Field(ge=1)
    max_request_time: Any = None
    """No longer supported by Envoy; reported and ignored."""


class GrpcStatsService(StrictModel):
    """A gRPC service whose methods get their own statistics."""

    name: str = Field(min_length=1)
    method_names: list[str] = Field(default_factory=list)


class GrpcStatsSpec(StrictModel):
    """`grpc_stats`: per-method gRPC statistics (every method, or an allowlist)."""

    all_methods: bool = False
    services: list[GrpcStatsService] | None = None
    upstream_stats: bool = False


def _cidr(value: str) -> str:
    """`10.0.0.0/8`, `::1`, `192.168.1.7`: a network with its prefix length."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError as exc:
        raise ValueError(f"not an IP address or CIDR range: {value!r}") from exc


class IpPrincipal(StrictModel):
    """One entry of `ip_allow` / `ip_deny`: `remote` (the client, after X-Forwarded-For
    processing) or `peer` (the connection's own address), an address or CIDR range."""

    remote: str | None = None
    peer: str | None = None

    @model_validator(mode="after")
    def _one(self) -> IpPrincipal:
        if (self.remote is None) == (self.peer is None):
            raise ValueError("each entry sets exactly one of remote, peer")
        return self

    @field_validator("remote", "peer")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        return _cidr(value) if value is not None else None

    @property
    def kind(self) -> Literal["remote", "peer"]:
        """Which address is compared."""
        return "remote" if self.remote is not None else "peer"

    @property
    def network(self) -> str:
        """The address or range, normalised (`10.0.0.0/8`)."""
        return self.remote if self.remote is not None else str(self.peer)


class ClientCertDetails(StrictModel):
    """`set_current_client_cert_details`: what goes into `x-forwarded-client-cert`."""

    subject: bool = False
    cert: bool = False
    chain: bool = False
    dns: bool = False
    uri: bool = False
