""" "Which route serves this request?": the IR's routing, evaluated the way Envoy does.

Envoy picks one virtual host by the request's host, then takes the first route of that
host whose match succeeds. This module follows the same steps over the compiled IR and
says, for every route before the winner, why it did not match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from legation.ir.gateway import RouteConfig, VirtualHost
from legation.ir.routes import HeaderMatch, PathKind, QueryMatch, Route


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request that routing looks at."""

    method: str
    host: str
    path: str
    """Path without the query string."""
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""

    @classmethod
    def from_url(cls, method: str, url: str, headers: Mapping[str, str] | None = None) -> Request:
        """Build a request from a URL (`http://host/path?q=1` or `/path?q=1`)."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        if url.startswith("/"):  # a bare path: `//x` is a path here, not a host
            netloc, (path, _, query) = "", url.partition("?")
        else:
            parts = urlsplit(url)
            netloc, path, query = parts.netloc, parts.path, parts.query
        return cls(
            method=method.upper(),
            host=lowered.get("host") or netloc or "localhost",
            path=path or "/",
            query=tuple(parse_qsl(query, keep_blank_values=True)),
            headers=lowered,
        )


@dataclass(frozen=True)
class Verdict:
    """A route considered for the request, and why it did or did not match."""

    route: Route
    matched: bool
    reason: str


@dataclass(frozen=True)
class Explanation:
    """The answer: the virtual host chosen, the winning route (if any), and the steps."""

    virtual_host: VirtualHost | None
    winner: Route | None
    considered: tuple[Verdict, ...]
    group: tuple[Route, ...] = ()
    """The winner's canary group: the winner and its fellow members (they share its
    match and split its traffic, each member taking its share); empty without a winner."""


def _domain_matches(pattern: str, host: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])
    if pattern.endswith("*"):
        return host.startswith(pattern[:-1])
    return host == pattern


def _domain_rank(pattern: str) -> tuple[int, int]:
    """Envoy's order: exact, then longest suffix wildcard, then prefix wildcard, then `*`."""
    if pattern == "*":
        return (3, 0)
    if pattern.startswith("*"):
        return (1, -len(pattern))
    if pattern.endswith("*"):
        return (2, -len(pattern))
    return (0, 0)


def choose_virtual_host(vhosts: Sequence[VirtualHost], host: str) -> VirtualHost | None:
    """The virtual host Envoy selects for a Host header."""
    host = host.lower()
    best: tuple[tuple[int, int], VirtualHost] | None = None
    for vh in vhosts:
        for pattern in vh.domains:
            if _domain_matches(pattern, host):
                rank = _domain_rank(pattern)
                if best is None or rank < best[0]:
                    best = (rank, vh)
    return best[1] if best else None


def _full_match(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        return re.fullmatch(pattern, value, flags) is not None
    except re.error:
        return False


def _header_ok(h: HeaderMatch, request: Request) -> bool:
    if h.name == ":method":
        value: str | None = request.method
    elif h.name == ":authority":
        value = request.host
    else:
        value = request.headers.get(h.name.lower())
    if value is None:
        return False
    if h.value is None:
        return True
    return _full_match(h.value, value) if h.regex else value == h.value


def _query_ok(q: QueryMatch, request: Request) -> bool:
    values = [v for k, v in request.query if k == q.name]
    if not values:
        return False
    if q.value is None:
        return True
    first = values[0]
    return _full_match(q.value, first) if q.regex else first == q.value


def why_not(route: Route, request: Request) -> str | None:
    """None when the route matches the request, else the first reason it does not."""
    m = route.match
    path = m.path
    if path.kind is PathKind.PREFIX:
        ok = (
            request.path.startswith(path.value)
            if path.case_sensitive
            else request.path.lower().startswith(path.value.lower())
        )
    elif path.kind is PathKind.EXACT:
        ok = (
            request.path == path.value
            if path.case_sensitive
            else request.path.lower() == path.value.lower()
        )
    else:
        ok = _full_match(path.value, request.path, path.case_sensitive)
    if not ok:
        return f"path {request.path!r} does not match {path.kind.value} {path.value!r}"
    if m.method:
        method_ok = (
            _full_match(m.method, request.method) if m.method_regex else request.method == m.method
        )
        if not method_ok:
            return f"method {request.method} is not {m.method}"
    for h in m.headers:
        if not _header_ok(h, request):
            want = "present" if h.value is None else f"{'~' if h.regex else '='} {h.value!r}"
            return f"header {h.name} is not {want}"
    for q in m.query:
        if not _query_ok(q, request):
            want = "present" if q.value is None else f"{'~' if q.regex else '='} {q.value!r}"
            return f"query parameter {q.name} is not {want}"
    return None


def explain(config: RouteConfig, request: Request) -> Explanation:
    """Follow Envoy's route selection for `request` through one route configuration."""
    vh = choose_virtual_host(config.virtual_hosts, request.host)
    if vh is None:
        return Explanation(None, None, ())
    considered = []
    for i, route in enumerate(vh.routes):
        reason = why_not(route, request)
        if reason is None:
            group = tuple(r for r in vh.routes[i:] if r.group == route.group)
            if len(group) > 1:
                shares = ", ".join(f"{t.mapping} {t.weight}%" for r in group for t in r.targets)
                considered.append(Verdict(route, True, f"matches; canary group split {shares}"))
            else:
                considered.append(Verdict(route, True, "matches"))
            return Explanation(vh, route, tuple(considered), group)
        considered.append(Verdict(route, False, reason))
    return Explanation(vh, None, tuple(considered))
