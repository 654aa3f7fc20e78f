"""FilterPolicy rules → each route's OIDC login, and the gateway's `OAuth2Gateway`.

The oauth2 filter acts on whole routes (it has no path rules), so a route gets the
login of the first rule that covers all of it, or of an earlier rule that covers only
part of it: a partly covered route is protected as a whole, never left open. A rule
naming a broken OAuth2 Filter makes the routes it covers (even partly) fail closed.
Redirect-only routes never need a login: Envoy answers them itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from legation.compile.filter_policy import PolicyRule
from legation.compile.jwt_routes import Cover, JwtRouteMemo, rule_cover
from legation.compile.oauth2 import OAuth2Logins
from legation.ir.gateway import RouteConfig
from legation.ir.oauth2 import OAuth2Gateway, RouteLogin
from legation.ir.routes import Route


def route_login(
    route: Route, domains: Sequence[str], rules: Sequence[PolicyRule]
) -> RouteLogin | None:
    """What OIDC login one route in a virtual host with `domains` gets (None: none)."""
    if route.options.redirect is not None:
        return None
    for rule in rules:
        cover = rule_cover(rule, route, domains)
        if cover is Cover.NONE:
            continue
        if rule.login_failure is not None:
            return RouteLogin(failure=rule.login_failure)
        if rule.login is not None:
            return RouteLogin(login=rule.login)
        if cover is Cover.ALL:
            return None  # decided by a rule without a login
    return None


def decide_logins(
    config: RouteConfig, rules: Sequence[PolicyRule], memo: JwtRouteMemo
) -> RouteConfig:
    """The route configuration with every route's OIDC login decision."""
    return memo.decide_each(config, lambda route, domains: route_login(route, domains, rules))


def used_logins(configs: Sequence[RouteConfig], compiled: OAuth2Logins) -> OAuth2Gateway:
    """The logins some route uses, with only their secrets and clusters."""
    names = {
        r.options.oauth2.login
        for c in configs
        for vh in c.virtual_hosts
        for r in vh.routes
        if r.options.oauth2 is not None and r.options.oauth2.login is not None
    }
    logins = sorted((x for x in compiled.logins.values() if x.name in names), key=lambda x: x.name)
    secrets = {x.token_secret for x in logins} | {x.hmac_secret for x in logins}
    clusters = {x.token_cluster for x in logins}
    return OAuth2Gateway(
        logins=tuple(logins),
        secrets=tuple(
            sorted((s for s in compiled.secrets if s.name in secrets), key=lambda s: s.name)
        ),
        clusters=tuple(
            sorted(
                {c.name: c for c in compiled.clusters if c.name in clusters}.values(),
                key=lambda c: c.name,
            )
        ),
    )
