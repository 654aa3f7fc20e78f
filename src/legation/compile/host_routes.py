"""Which Mappings each Host serves, and its virtual hosts for cleartext and for TLS.

A Host serves a Mapping when the Mapping's `hostname` glob overlaps the Host's
hostname, or the Host's `mappingSelector` matches the Mapping's labels; both must hold
when both are set, and a Mapping without `hostname` joins no Host without a selector.
Each Host is one virtual host. Over cleartext its insecure action applies: Redirect
answers 301 to https, Reject leaves the routes out (404); the ACME challenge path is
routed either way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from legation.compile.hosts import CompiledHost, InsecureAction
from legation.compile.precedence import domains_for, order_routes
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.gateway import VirtualHost
from legation.ir.policies import Redirect, RouteOptions
from legation.ir.routes import (
    ACME_PREFIX,
    HeaderMatch,
    PathKind,
    PathMatch,
    Route,
    RouteMatch,
    RouteWeight,
)
from legation.model.mapping import MappingSpec
from legation.model.resource import Resource

_UNSAFE = re.compile(r"[^A-Za-z0-9_.*-]")


@dataclass(frozen=True, slots=True)
class MappingLabels:
    """What Host selection reads from a Mapping."""

    hostname: str | None
    """`hostname` (or an exact `host`) as written, lower-case; None when unset."""
    labels: Mapping[str, str]
    """`metadata.labels`."""


def mapping_labels(mappings: Sequence[Resource[MappingSpec]]) -> dict[str, MappingLabels]:
    """Hostname and labels of each Mapping, by key."""
    out = {}
    for res in mappings:
        spec = res.spec
        hostname = spec.hostname or (spec.host if spec.host and not spec.host_regex else None)
        metadata = res.raw.doc.get("metadata")
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        plain = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        out[res.key] = MappingLabels(hostname.lower() if hostname else None, plain)
    return out


def globs_overlap(a: str, b: str) -> bool:
    """True when two DNS globs can name one host (either matches the other)."""
    return a == "*" or b == "*" or fnmatchcase(a, b) or fnmatchcase(b, a)


def _selects(host: CompiledHost, mapping: MappingLabels) -> bool:
    by_host = mapping.hostname is not None and globs_overlap(mapping.hostname, host.hostname)
    if host.selector is None:
        return by_host
    by_labels = all(mapping.labels.get(k) == v for k, v in host.selector)
    return by_labels and (by_host or mapping.hostname is None)


def _authority(hostname: str) -> HeaderMatch:
    """`:authority` equal to `hostname` (a glob: `*` is one or more labels), any port."""
    pattern = re.escape(hostname).replace(r"\*", "[^:]+")
    return HeaderMatch(":authority", f"^{pattern}(:[0-9]+)?$", regex=True)


class HostRouteMemo:
    """Reuses the Routes made for Hosts (scoped copies, redirects) while their inputs are
    the very same objects, so later stages, which cache by identity, skip them."""

    def __init__(self) -> None:
        self._scoped: dict[tuple[int, str], tuple[Route, Route]] = {}
        self._fresh: dict[tuple[int, str], tuple[Route, Route]] = {}
        self._redirects: dict[CompiledHost, Route] = {}
        self._fresh_redirects: dict[CompiledHost, Route] = {}

    def start(self) -> None:
        """Begin a compile: what the previous one did not use is dropped at `start`."""
        self._scoped, self._fresh = self._fresh, {}
        self._redirects, self._fresh_redirects = self._fresh_redirects, {}

    def scoped(self, route: Route, host: CompiledHost) -> Route:
        """The route, limited to its own hostname when that is narrower than the Host's."""
        if fnmatchcase(host.hostname, route.hostname):
            return route
        key = (id(route), host.hostname)
        hit = self._scoped.get(key) or self._fresh.get(key)
        if hit is None or hit[0] is not route:
            headers = tuple(sorted((*route.match.headers, _authority(route.hostname)), key=repr))
            match = dataclasses.replace(route.match, headers=headers)
            hit = (route, dataclasses.replace(route, match=match))
        self._fresh[key] = hit
        return hit[1]

    def redirect(self, host: CompiledHost, name: str) -> Route:
        """The catch-all https redirect of a Redirect Host."""
        found = self._redirects.get(host) or self._fresh_redirects.get(host)
        if found is None or found.name != f"{name}-https-redirect":
            found = _redirect(host, name)
        self._fresh_redirects[host] = found
        return found


def _is_acme(route: Route) -> bool:
    """A route for exactly the ACME prefix (as Emissary tells them apart)."""
    path = route.match.path
    return path.kind is PathKind.PREFIX and path.value == ACME_PREFIX


def _redirect(host: CompiledHost, name: str) -> Route:
    return Route(
        name=f"{name}-https-redirect",
        hostname=host.hostname,
        match=RouteMatch(PathMatch(PathKind.PREFIX, "/")),
        precedence=0,
        targets=(),
        source=host.source,
        mappings=(host.key,),
        options=RouteOptions(redirect=Redirect(host="", https=True)),
        # appended after the Host's ordered routes: its weight is only for the record
        route_weight=RouteWeight(0, 1, 0, 0, "/", "GET"),
        group=f"{name}-https-redirect",
    )


def host_virtual_hosts(
    hosts: Sequence[CompiledHost],
    routes: Sequence[Route],
    mappings: Mapping[str, MappingLabels],
    cleartext: bool,
    memo: HostRouteMemo | None = None,
) -> tuple[VirtualHost, ...]:
    """One virtual host per Host; `cleartext` applies each Host's insecure action."""
    memo = memo or HostRouteMemo()
    out = []
    for host in sorted(hosts, key=lambda h: h.key):
        name = "host_" + _UNSAFE.sub("_", host.key.removeprefix("Host/"))
        served = [
            memo.scoped(r, host)
            for r in routes
            if any(m in mappings and _selects(host, mappings[m]) for m in r.mappings)
        ]
        ordered = order_routes(served)
        if cleartext and host.action is not InsecureAction.ROUTE:
            ordered = [r for r in ordered if _is_acme(r)]
            if host.action is InsecureAction.REDIRECT:
                ordered.append(memo.redirect(host, name))
        vh = VirtualHost(name, domains_for(host.hostname), tuple(ordered), host.local_rate_limit)
        out.append(vh)
    return tuple(out)


def unserved(
    hosts: Sequence[CompiledHost], routes: Sequence[Route], mappings: Mapping[str, MappingLabels]
) -> list[ConfigProblem]:
    """A notice for each Mapping no Host serves (with Hosts, such a Mapping is not routed)."""
    out = []
    for route in routes:
        for key in route.mappings:
            info = mappings.get(key)
            if info is not None and not any(_selects(h, info) for h in hosts):
                message = (
                    "no Host serves this Mapping (its hostname matches no Host's and no "
                    "mappingSelector selects it), so it is not routed"
                )
                out.append(ConfigProblem(route.source, key, message, severity=Severity.NOTICE))
    return out
