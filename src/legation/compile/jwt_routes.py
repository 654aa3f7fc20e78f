"""FilterPolicy rules → per-route JWT decisions, and the JWT filter of each listener.

Each IR route has a known virtual host (its domains) and path match, so most rules
can be decided per route: the rule covers every request of the route, none of them,
or only some (a path glob narrower than the route's prefix, a host glob on a wildcard
host, a regex route). The first rule covering all of a route decides it; when a rule
covering only some comes before, the route is left to the listener's path rules
(Envoy's jwt_authn `rules`, the same globs as regexes, tried in order).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any

from legation.compile.filter_policy import PolicyRule, glob_path, glob_regex, host_regex
from legation.ir.gateway import RouteConfig
from legation.ir.jwt import JwtAuthn, JwtProvider, JwtRequirement, JwtRule, RouteJwt
from legation.ir.listeners import FilterChain, Listener
from legation.ir.routes import PathKind, PathMatch, Route

FAIL_CLOSED = "legation-fail-closed"
"""A provider (and requirement) no token satisfies: for routes whose Filter is broken."""

# Envoy refuses an empty key set, so the provider holds one public key whose private key
# was thrown away when it was generated (it exists nowhere), and asks for an issuer and
# audience no real token carries.
_NOBODYS_KEY = (
    '{"keys":[{"kty":"EC","crv":"P-256","kid":"legation-fail-closed",'
    '"x":"zI9jpNDEUP9mM2bGxYDpzloTDfFDnc_gsf5AUXIYbOI",'
    '"y":"2miYhdhsFgjRtfLcn6zhPRpLNVFODQSejJISf5RSl5c"}]}'
)
FAIL_CLOSED_PROVIDER = JwtProvider(
    name=FAIL_CLOSED,
    filter="",
    issuer="legation:fail-closed",
    audiences=("legation:fail-closed",),
    local_jwks=_NOBODYS_KEY,
)


class Cover(Enum):
    """How much of a route's traffic a rule's glob matches."""

    NONE = 0
    SOME = 1
    ALL = 2


def _host_cover(glob: str, domains: Sequence[str]) -> Cover:
    if glob == "*":
        return Cover.ALL
    hosts = {d.rsplit(":", 1)[0] if d.endswith(":*") else d for d in domains}
    covers = set()
    for host in hosts:
        if host == glob:
            covers.add(Cover.ALL)
        elif "*" in host:
            covers.add(Cover.SOME)
        else:
            hit = re.fullmatch(glob_regex(glob), host, re.IGNORECASE)
            covers.add(Cover.ALL if hit else Cover.NONE)
    return covers.pop() if len(covers) == 1 else Cover.SOME


def _path_cover(glob: str, path: PathMatch) -> Cover:
    if glob == "*":
        return Cover.ALL
    if path.kind is PathKind.REGEX or not path.case_sensitive:
        return Cover.SOME
    if path.kind is PathKind.EXACT:
        return Cover.ALL if re.fullmatch(glob_regex(glob), path.value) else Cover.NONE
    prefix, literal = path.value, glob.split("*", 1)[0]
    if "*" not in glob:
        return Cover.SOME if glob.startswith(prefix) else Cover.NONE
    if glob == literal + "*" and prefix.startswith(literal):
        return Cover.ALL
    overlap = prefix.startswith(literal) or literal.startswith(prefix)
    return Cover.SOME if overlap else Cover.NONE


def rule_cover(rule: PolicyRule, route: Route, domains: Sequence[str]) -> Cover:
    """How much of a route (in a virtual host with `domains`) a policy rule matches."""
    host = _host_cover(rule.host, domains)
    if host is Cover.NONE:
        return host
    path = _path_cover(rule.path, route.match.path)
    return Cover(min(host.value, path.value))


def requirement_name(rule: PolicyRule) -> str | None:
    """The requirement a rule asks for; None when it asks for none."""
    if rule.failure is not None:
        return FAIL_CLOSED
    return "+".join(rule.providers) or None


def route_decision(route: Route, domains: Sequence[str], rules: Sequence[PolicyRule]) -> RouteJwt:
    """What JWT validation one route in a virtual host with `domains` gets."""
    if route.options.redirect is not None:
        return RouteJwt(disabled=True)  # answered by Envoy itself: nothing to protect
    for rule in rules:
        host = _host_cover(rule.host, domains)
        path = _path_cover(rule.path, route.match.path) if host is not Cover.NONE else host
        if Cover.NONE in (host, path):
            continue
        if Cover.SOME in (host, path) or (rule.conditional and rule.failure is None):
            return RouteJwt(by_rules=True)  # decided per request, by the listener's rules
        if rule.failure is not None:
            return RouteJwt(requirement=FAIL_CLOSED, failure=rule.failure)
        name = requirement_name(rule)
        return RouteJwt(requirement=name) if name else RouteJwt(disabled=True)
    return RouteJwt(disabled=True)


def listener_rules(rules: Sequence[PolicyRule]) -> tuple[JwtRule, ...]:
    """Every policy rule as jwt_authn path rules, in order (for `by_rules` routes).

    A rule with filters under `ifRequestHeader` becomes one path rule per combination
    of its header tests holding or not, each asking for the filters that then apply.
    """
    out = []
    for rule in rules:
        host, path = host_regex(rule.host), glob_path(rule.path)
        if rule.failure is not None or not rule.conditional:
            out.append(JwtRule(path, host, requirement_name(rule)))
            continue
        for holds in itertools.product((True, False), repeat=len(rule.conditional)):
            tests = zip(rule.conditional, holds, strict=True)
            # a test that must fail is the same matcher inverted (negate flips it again)
            headers = tuple(dataclasses.replace(c, invert=c.invert == on) for (_, c), on in tests)
            extra = [p for (p, _), on in zip(rule.conditional, holds, strict=True) if on]
            names = list(dict.fromkeys([*rule.providers, *extra]))
            out.append(JwtRule(path, host, "+".join(names) or None, headers))
    return tuple(out)


class JwtRouteMemo:
    """Hands back the same decided Route object for the same route and decision, so the
    route translation caches (keyed on identity) keep working across compiles.

    `option` is the RouteOptions field the decision goes to (`jwt`; `oauth2` for the
    OIDC login decisions)."""

    def __init__(self, option: str = "jwt") -> None:
        self._option = option
        self._seen: dict[int, tuple[Route, Any, Route]] = {}
        self._fresh: dict[int, tuple[Route, Any, Route]] = {}

    def start(self) -> None:
        """Begin a compile: entries not used by it are dropped at its end."""
        self._seen, self._fresh = {**self._seen, **self._fresh}, {}

    def decided(self, route: Route, decision: Any) -> Route:
        """`route` with `decision` as its JWT (or OIDC login) setting."""
        hit = self._fresh.get(id(route)) or self._seen.get(id(route))
        if hit is None or hit[0] is not route or hit[1] != decision:
            options = dataclasses.replace(route.options, **{self._option: decision})
            hit = (route, decision, dataclasses.replace(route, options=options))
        self._fresh[id(route)] = hit
        return hit[2]

    def finish(self) -> None:
        """End a compile."""
        self._seen, self._fresh = self._fresh, {}

    def decide_each(
        self, config: RouteConfig, decide: Callable[[Route, Sequence[str]], Any]
    ) -> RouteConfig:
        """`config` with every route given `decide(route, its virtual host's domains)`."""
        hosts = []
        for vh in config.virtual_hosts:
            routes = tuple(self.decided(r, decide(r, vh.domains)) for r in vh.routes)
            hosts.append(dataclasses.replace(vh, routes=routes))  # keeps its other fields
        return RouteConfig(config.name, tuple(hosts))


def decide_routes(
    config: RouteConfig, rules: Sequence[PolicyRule], memo: JwtRouteMemo
) -> RouteConfig:
    """The route configuration with every route's JWT decision."""
    return memo.decide_each(config, lambda route, domains: route_decision(route, domains, rules))


def jwt_authn_for(
    config: RouteConfig, rules: Sequence[PolicyRule], providers: Mapping[str, JwtProvider]
) -> JwtAuthn | None:
    """The JWT filter a route configuration needs; None when no route needs one."""
    decisions = [r.options.jwt for vh in config.virtual_hosts for r in vh.routes]
    names = {d.requirement for d in decisions if d is not None and d.requirement}
    path_rules = listener_rules(rules) if any(d and d.by_rules for d in decisions) else ()
    names |= {r.requirement for r in path_rules if r.requirement}
    if not names:
        return None
    by_name = {p.name: p for p in providers.values()} | {FAIL_CLOSED: FAIL_CLOSED_PROVIDER}
    requirements = tuple(JwtRequirement(n, tuple(n.split("+"))) for n in sorted(names))
    if FAIL_CLOSED in names:
        requirements = tuple(
            JwtRequirement(r.name, (FAIL_CLOSED,)) if r.name == FAIL_CLOSED else r
            for r in requirements
        )
    used = sorted({p for r in requirements for p in r.providers})
    return JwtAuthn(tuple(by_name[p] for p in used), requirements, path_rules)


def with_jwt(listener: Listener, by_config: Mapping[str, JwtAuthn]) -> Listener:
    """The listener with each HTTP chain's JWT filter (for its route configuration)."""
    chains = []
    for chain in listener.filter_chains:
        http = chain.http
        jwt = by_config.get(http.route_config) if http is not None else None
        if http is not None and jwt != http.jwt:
            chain = FilterChain(
                chain.name, chain.match, chain.tls, dataclasses.replace(http, jwt=jwt)
            )
        chains.append(chain)
    return dataclasses.replace(listener, filter_chains=tuple(chains))
