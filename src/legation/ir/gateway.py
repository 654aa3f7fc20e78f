"""The whole compiled gateway: listeners, virtual hosts, routes and clusters."""

from __future__ import annotations

from dataclasses import dataclass, field

from legation.ir.accesslog import AccessLog
from legation.ir.clusters import Cluster
from legation.ir.endpoints import LoadAssignment
from legation.ir.http import HttpFilterSettings, HttpSettings
from legation.ir.routes import Route
from legation.ir.tcp import TcpListener


@dataclass(frozen=True, slots=True)
class VirtualHost:
    """A set of domains and the ordered routes that serve them."""

    name: str
    domains: tuple[str, ...]
    routes: tuple[Route, ...]


@dataclass(frozen=True, slots=True)
class HttpListener:
    """A plain-HTTP Envoy listener whose routes come from one RDS route configuration."""

    name: str
    address: str
    port: int
    route_config: str
    """Name of the route configuration (RDS resource) the listener uses."""
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


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """An RDS route configuration: virtual hosts in match order."""

    name: str
    virtual_hosts: tuple[VirtualHost, ...]


@dataclass(frozen=True, slots=True)
class Gateway:
    """The IR root: everything Envoy needs, in a deterministic order."""

    listeners: tuple[HttpListener, ...]
    route_configs: tuple[RouteConfig, ...]
    clusters: tuple[Cluster, ...]
    load_assignments: tuple[LoadAssignment, ...] = ()
    """Endpoints of the EDS clusters, sorted by cluster name."""
    tcp_listeners: tuple[TcpListener, ...] = ()
    """One per TCPMapping port, sorted by port."""
