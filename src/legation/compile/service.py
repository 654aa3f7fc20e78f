"""Parse a Mapping's `service` (`[scheme://]name[.namespace][:port]`) into a cluster."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from legation.ir.clusters import Cluster, Discovery
from legation.ir.upstream import UpstreamOptions

_SCHEMES = {"http": False, "https": True}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
DEFAULT_CONNECT_TIMEOUT_MS = 3000


class ServiceError(ValueError):
    """The service string cannot be turned into a host and port."""


@dataclass(frozen=True, slots=True)
class ServiceAddress:
    """Where a service lives: host, port, and whether to speak TLS to it."""

    host: str
    port: int
    tls: bool
    port_given: bool = field(default=True, compare=False)
    """False when the port is the scheme's default (then TLS origination uses 443)."""


def url_address(url: str) -> ServiceAddress | None:
    """Host, port (the scheme's default when none) and TLS of an absolute http(s) URL;
    None when `url` is not one (no such scheme, no host, or a bad port)."""
    try:  # a malformed URL (`http://[zz]/`, a bad port) is not one, not a crash
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _SCHEMES or not parts.hostname:
        return None
    tls = _SCHEMES[parts.scheme]
    return ServiceAddress(parts.hostname, port or (443 if tls else 80), tls)


def parse_service(service: str) -> ServiceAddress:
    """Split `[scheme://]host[:port]`; the port defaults to 80, or 443 for https."""
    tls = False
    rest = service
    if "://" in service:
        scheme, rest = service.split("://", 1)
        if scheme.lower() not in _SCHEMES:
            raise ServiceError(f"unsupported scheme {scheme!r}; expected http or https")
        tls = _SCHEMES[scheme.lower()]
    rest = rest.rstrip("/")
    if not rest or "/" in rest:
        raise ServiceError(f"expected [scheme://]host[:port], got {service!r}")
    host, port_text = rest, ""
    if rest.startswith("["):  # [ipv6]:port
        end = rest.find("]")
        if end < 0:
            raise ServiceError(f"unterminated IPv6 address in {service!r}")
        host, port_text = rest[1:end], rest[end + 2 :] if rest[end + 1 : end + 2] == ":" else ""
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ServiceError(f"invalid port {port_text!r} in {service!r}")
        port = int(port_text)
    else:
        port = 443 if tls else 80
    if not host:
        raise ServiceError(f"missing host in {service!r}")
    return ServiceAddress(host, port, tls, port_given=bool(port_text))


def is_ip(host: str) -> bool:
    """True for an IPv4 or IPv6 literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _unnamed_settings(options: UpstreamOptions) -> list[str]:
    """Settings left out of `repr(options)`, spelled out only when set."""
    out = []
    if options.respect_dns_ttl:
        out.append("dns_ttl")
    if options.ip_family is not None:
        out.append(f"family={options.ip_family.value}")
    if options.tag is not None:
        out.append(f"tag={options.tag}")
    return out


def cluster_prefix(host: str, port: int) -> str:
    """The start of the name of every cluster for `host:port`."""
    return f"cluster_{_UNSAFE.sub('_', host)}_{port}"


def cluster_for(
    address: ServiceAddress,
    service: str,
    connect_timeout_ms: int | None,
    options: UpstreamOptions | None = None,
    dns_type: str | None = None,
) -> Cluster:
    """The cluster for a service; its name depends only on what makes clusters differ.

    Two Mappings to one service with different cluster settings (circuit breakers,
    load balancer, health checks, ...) get two clusters, each named after a hash of
    its settings, so the name is stable whatever else changes.
    """
    timeout = connect_timeout_ms if connect_timeout_ms is not None else DEFAULT_CONNECT_TIMEOUT_MS
    options = options if options is not None else UpstreamOptions()
    discovery = Discovery.STATIC if is_ip(address.host) else Discovery.STRICT_DNS
    if discovery is Discovery.STRICT_DNS and dns_type == "logical_dns":
        discovery = Discovery.LOGICAL_DNS
    name = cluster_prefix(address.host, address.port)
    if address.tls:
        name += "_tls"
    settings = []
    if timeout != DEFAULT_CONNECT_TIMEOUT_MS:
        settings.append(f"ct={timeout}")
    if discovery is Discovery.LOGICAL_DNS:
        settings.append("dns=logical")
    if options != UpstreamOptions():
        settings.append(repr(options))
        settings.extend(_unnamed_settings(options))
    if settings:
        digest = hashlib.sha1(";".join(settings).encode(), usedforsecurity=False)
        name += "_" + digest.hexdigest()[:8]
    return Cluster(
        name=name,
        service=service,
        host=address.host,
        port=address.port,
        discovery=discovery,
        tls=address.tls,
        connect_timeout_ms=timeout,
        options=options,
    )
