"""Listeners: one Envoy port each, holding ordered filter chains.

Every listener has the same shape, whatever made it (the HTTP port, a TCPMapping port,
a Host's TLS): a chain matches connections (SNI, transport), may terminate TLS with
secrets named from `Gateway.secrets`, and ends in an HTTP connection manager or a TCP
proxy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from legation.ir.accesslog import AccessLog
from legation.ir.http import HttpFilterSettings, HttpSettings
from legation.ir.jwt import JwtAuthn
from legation.ir.tcp import TcpProxy


@dataclass(frozen=True, slots=True)
class ChainMatch:
    """Which connections a filter chain takes; empty fields match everything."""

    server_names: tuple[str, ...] = ()
    """SNI names (exact, or `*.` wildcard prefixes) the TLS ClientHello must carry."""
    transport_protocol: str | None = None
    """`tls` or `raw_buffer` (as the TLS inspector tells); None matches both."""


@dataclass(frozen=True, slots=True)
class DownstreamTls:
    """TLS termination on a filter chain; certificates are named, never inlined."""

    certificates: tuple[str, ...]
    """Names of `Gateway.secrets` holding a certificate and key (served over SDS)."""
    alpn_protocols: tuple[str, ...] = ()
    """ALPN protocols offered, in preference order (e.g. `h2`, `http/1.1`)."""
    min_version: str | None = None
    """Envoy's `TlsProtocol` name (`TLSv1_0` ... `TLSv1_3`); None keeps Envoy's default."""
    max_version: str | None = None
    cipher_suites: tuple[str, ...] = ()
    """BoringSSL cipher names; empty keeps Envoy's defaults."""
    ecdh_curves: tuple[str, ...] = ()
    client_ca: str | None = None
    """Name of a `Gateway.secrets` CA bundle: client certificates are asked for and
    checked against it (mTLS); None asks for none."""
    require_client_certificate: bool = False
    """Refuse the handshake when the client presents no valid certificate."""


@dataclass(frozen=True, slots=True)
class HttpConnectionManager:
    """An HTTP connection manager whose routes come from one RDS route configuration."""

    route_config: str
    """Name of the route configuration (RDS resource) it uses."""
    stat_prefix: str
    use_remote_address: bool = True
    xff_num_trusted_hops: int = 0
    merge_slashes: bool = False
    strip_matching_host_port: bool = False
    access_log: AccessLog | None = None
    """Access logging for the connection manager; None logs nothing."""
    settings: HttpSettings = field(default_factory=HttpSettings)
    """Connection manager options from the Module (server name, timeouts, limits...)."""
    filters: HttpFilterSettings = field(default_factory=HttpFilterSettings)
    """Optional HTTP filters from the Module (gzip, buffer, gRPC, Lua, IP rules...)."""
    jwt: JwtAuthn | None = None
    """JWT validation for the routes of `route_config` that need it; None: none do."""


@dataclass(frozen=True, slots=True)
class FilterChain:
    """One filter chain: its match, optional TLS, then exactly one of `http` or `tcp`."""

    name: str | None = None
    """The chain's name in Envoy; None leaves it unnamed (a listener's only chain)."""
    match: ChainMatch = field(default_factory=ChainMatch)
    tls: DownstreamTls | None = None
    http: HttpConnectionManager | None = None
    tcp: TcpProxy | None = None

    def __post_init__(self) -> None:
        if (self.http is None) == (self.tcp is None):
            raise ValueError("a filter chain has exactly one of `http` or `tcp`")


@dataclass(frozen=True, slots=True)
class Listener:
    """An Envoy listener: address, port and ordered filter chains (most specific first)."""

    name: str
    address: str
    port: int
    filter_chains: tuple[FilterChain, ...]
    buffer_limit_bytes: int | None = None
    """Per-connection read and write buffer limit; None keeps Envoy's default."""
    proxy_protocol: bool = False
    """Connections start with a PROXY protocol header (the Module's `use_proxy_proto`)."""

    @property
    def inspects_tls(self) -> bool:
        """True when some chain matches on SNI or transport (needs the TLS inspector)."""
        return any(c.match.server_names or c.match.transport_protocol for c in self.filter_chains)
