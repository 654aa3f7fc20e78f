"""The runtime's view of itself, exposed to diagnostics as plain data."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from legation.diag.certificates import certificates
from legation.diag.observability import observability_config
from legation.ir.auth import bypass_reason
from legation.ir.errors import ConfigProblem
from legation.ir.gateway import Gateway
from legation.ir.provenance import Source
from legation.ir.ratelimit import RouteLimitState, limit_state, route_groups
from legation.ir.routes import Route
from legation.ir.serialize import to_data
from legation.runtime.pipeline import BuildResult
from legation.xds.status import NodeStatus


def problem_data(p: ConfigProblem) -> dict[str, Any]:
    """A problem as JSON: Ambassador's `{source, resource, message}` plus details."""
    return {
        "source": p.source.describe(),
        "resource": p.resource,
        "message": p.message,
        "field": p.field,
        "severity": p.severity.value,
        "file": p.source.location,
        "line": p.source.line,
        "annotation": p.source.annotation,
        "document": p.source.document,
    }


def source_data(source: Source) -> dict[str, Any]:
    """Where something was written, field by field (file or object, line, annotation)."""
    return {
        "location": source.location,
        "line": source.line,
        "annotation": source.annotation,
        "document": source.document,
    }


def _member_data(route: Route) -> list[dict[str, Any]]:
    """A member route's target with the settings that member applies on its own."""
    return [
        {
            "name": t.cluster,
            "weight": t.weight,
            "mapping": t.mapping,
            "route": route.name,
            "runtime_fraction": route.runtime_fraction,
            "prefix_rewrite": route.prefix_rewrite,
            "host_rewrite": route.options.host_rewrite,
            "timeout_ms": route.timeout_ms,
        }
        for t in route.targets
    ]


def group_routes(routes: Sequence[Route]) -> list[list[Route]]:
    """Consecutive member routes of one canary group, together (a list per group)."""
    out: list[list[Route]] = []
    for route in routes:
        if out and out[-1][0].group == route.group:
            out[-1].append(route)
        else:
            out.append([route])
    return out


def _auth_data(gateway: Gateway, route: Route) -> dict[str, Any] | None:
    """Whether the AuthService is asked for the route, or why not (None: no AuthService)."""
    auth = gateway.auth
    if auth is None:
        return None
    reason = bypass_reason(route)
    return {
        "applies": reason is None,
        "bypassed": reason,
        "services": list(auth.sources),
        "proto": auth.proto,
        "refused": auth.broken,
    }


def _jwt_data(route: Route) -> dict[str, Any] | None:
    """Which JWT validation the route gets (FilterPolicies); None when there are none."""
    jwt = route.options.jwt
    if jwt is None:
        return None
    if jwt.failure is not None:
        return {"mode": "refused", "reason": jwt.failure}
    if jwt.by_rules:
        return {"mode": "per-request", "reason": "a FilterPolicy glob covers part of the route"}
    if jwt.requirement is None:
        return {"mode": "none"}
    return {"mode": "required", "providers": jwt.requirement.split("+")}


def _login_data(gateway: Gateway, route: Route) -> dict[str, Any] | None:
    """Which OIDC login (OAuth2 Filter) the route gets, or why it refuses every request
    (None: no login applies)."""
    decided = route.options.oauth2
    if decided is None:
        return None
    if decided.failure is not None:
        return {"mode": "refused", "reason": decided.failure}
    login = gateway.oauth2.login(decided.login) if decided.login is not None else None
    return {
        "mode": "login",
        "login": decided.login,
        "filter": login.filter if login is not None else None,
    }


def _limits_data(route: Route, state: RouteLimitState) -> dict[str, Any]:
    """The route's rate-limit descriptors (each a list of entries) and local bucket."""
    out: dict[str, Any] = {}
    groups = route_groups(route.options.labels, state)
    if groups:
        out["rate_limits"] = [[to_data(a) for a in group] for group in groups]
    if route.options.local_rate_limit is not None:
        out["local_rate_limit"] = to_data(route.options.local_rate_limit)
    return out


def route_info(gateway: Gateway) -> list[dict[str, Any]]:
    """Every route of every virtual host, in match order, with its targets and source.

    The member routes of a canary group make one entry, listing every member's cluster,
    weight and own settings.
    """
    out = []
    state = limit_state(gateway.ratelimit.service)
    for rc in gateway.route_configs:
        for vh in rc.virtual_hosts:
            for members in group_routes(vh.routes):
                route = members[0]
                m = route.match
                out.append(
                    {
                        "name": route.name,
                        "route_config": rc.name,
                        "virtual_host": vh.name,
                        "domains": list(vh.domains),
                        "hostname": route.hostname,
                        "path": {
                            "kind": m.path.kind.value,
                            "value": m.path.value,
                            "case_sensitive": m.path.case_sensitive,
                        },
                        "method": m.method,
                        "headers": [dataclasses.asdict(h) for h in m.headers],
                        "query_parameters": [dataclasses.asdict(q) for q in m.query],
                        "precedence": route.precedence,
                        "prefix_rewrite": route.prefix_rewrite,
                        "source": route.source.describe(),
                        "provenance": source_data(route.source),
                        "mappings": [k for r in members for k in r.mappings],
                        "clusters": [c for r in members for c in _member_data(r)],
                        "auth": _auth_data(gateway, route),
                        "jwt": _jwt_data(route),
                        "oauth2": _login_data(gateway, route),
                        **_limits_data(route, state),
                    }
                )
    return out


def build_overview(result: BuildResult | None) -> dict[str, Any]:
    """The configuration part of the diagnostics overview."""
    if result is None:
        return {
            "source": "",
            "resources": {},
            "errors": [],
            "notices": [],
            "route_info": [],
            "clusters": [],
            "certificates": [],
            "observability": observability_config(None),
        }
    counts: dict[str, int] = {}
    for res in result.compiled.resources:
        counts[res.kind] = counts.get(res.kind, 0) + 1
    problems = [problem_data(p) for p in result.problems]
    return {
        "source": result.snapshot.origin,
        "resources": counts,
        "errors": [p for p in problems if p["severity"] == "error"],
        "notices": [p for p in problems if p["severity"] == "notice"],
        "route_info": route_info(result.compiled.gateway),
        "clusters": [c.name for c in result.compiled.gateway.clusters],
        "certificates": certificates(result.compiled.gateway),
        "auth": auth_overview(result.compiled.gateway),
        "observability": observability_config(result.compiled.gateway),
    }


def auth_overview(gateway: Gateway) -> dict[str, Any] | None:
    """The gateway's external authorization: services, cluster, and whether it refuses
    everything because no AuthService can work (None: no AuthService)."""
    auth = gateway.auth
    if auth is None:
        return None
    return {
        "services": list(auth.sources),
        "proto": auth.proto,
        "cluster": auth.cluster.name,
        "endpoints": [f"{host}:{port}" for host, port in auth.endpoints],
        "failure_mode_allow": auth.failure_mode_allow,
        "status_on_error": auth.status_on_error,
        "refused": auth.broken,
    }


def config_state(nodes: Sequence[NodeStatus], version: str) -> str:
    """Where the connected Envoys stand with configuration `version`.

    `in sync`: every connected node ACKed it. `rejected`: nothing is pending, but some
    type's latest response was NACKed while an earlier version of it is in force, so
    Envoy keeps serving the last good configuration. `pending`: something is still on
    its way (or was never accepted). `disconnected`: no Envoy is connected.
    """
    connected = [n for n in nodes if n.connected]
    if not connected:
        return "disconnected"
    rejected = False
    for node in connected:
        if node.snapshot_version != version:
            return "pending"
        for t in node.types.values():
            if t.in_sync:
                continue
            # rejected means: what we sent is what is wanted now, and Envoy refused it
            # (a NACK of an older version while the new one is on its way is pending)
            nacked = (
                t.nack is not None
                and t.nack.version == t.sent_version
                and t.sent_version == t.desired_version
            )
            if not nacked or t.acked_version is None:
                return "pending"
            rejected = True
    return "rejected" if rejected else "in sync"


def holds_configuration(node: NodeStatus) -> bool:
    """True when a connected node has accepted some version of every type it was sent.

    This is what readiness needs: Envoy then serves a whole configuration, even if a
    newer one is still on its way or was rejected.
    """
    if not node.connected or not node.types:
        return False
    return all(t.acked_version is not None or t.sent_version is None for t in node.types.values())
