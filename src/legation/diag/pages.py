"""The data behind each diagnostics page: plain dicts, served as JSON or rendered as HTML.

Each function takes what the runtime exposes (`DiagState`) plus Envoy's upstream
health, and returns exactly what the page's `?json=true` answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from legation.diag.certificates import certificates
from legation.diag.explain import Request
from legation.diag.render import resource_url
from legation.diag.state import DiagState
from legation.diag.tester import explain_gateway, explanation_data, parse_header_lines
from legation.diag.upstreams import EnvoyHealth, UpstreamHealth, colour_of, worst
from legation.xds.types import short_name

Health = Mapping[str, UpstreamHealth] | None


def _group_by_resource(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems grouped per resource (problems without a resource: per file)."""
    groups: dict[str, dict[str, Any]] = {}
    for p in problems:
        resource = p.get("resource")
        key = resource or f"(file) {p.get('file')}"
        group = groups.setdefault(
            key,
            {
                "resource": resource,
                "url": resource_url(resource) if resource else None,
                "file": p.get("file"),
                "problems": [],
            },
        )
        group["problems"].append(p)
    return [groups[k] for k in sorted(groups)]


def _nodes(nodes: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Connected Envoys with one row per xDS type, and every NACK still in force."""
    out, nacks = [], []
    for node in nodes:
        rows = []
        for url, t in sorted((node.get("types") or {}).items()):
            nack = t.get("nack")
            current = bool(nack) and nack.get("version") == t.get("sent_version") == t.get(
                "desired_version"
            )
            rows.append(
                {
                    "type": short_name(url),
                    "acked_version": t.get("acked_version"),
                    "sent_version": t.get("sent_version"),
                    "desired_version": t.get("desired_version"),
                    "in_sync": t.get("acked_version") == t.get("desired_version"),
                    "nack": dict(nack, current=current) if nack else None,
                }
            )
            if nack and current:
                nacks.append({"node": node.get("node_id"), "type": short_name(url), **nack})
        out.append(
            {
                "node_id": node.get("node_id"),
                "connected": node.get("connected", False),
                "stream_kind": node.get("stream_kind"),
                "types": rows,
            }
        )
    return out, nacks


def auth_health(health: Health, cluster: str) -> dict[str, Any] | None:
    """Whether Envoy reaches the AuthService's cluster, and what its checks came to
    (None: Envoy could not be asked)."""
    if health is None:
        return None
    found = health.get(cluster)
    stats = found.stats if found is not None else {}
    return {
        "colour": found.colour if found is not None else "grey",
        "healthy": found.healthy if found is not None else 0,
        "endpoints": len(found.endpoints) if found is not None else 0,
        "problems": sorted({p for e in found.endpoints for p in e.problems}) if found else [],
        "upstream_rq_total": stats.get("upstream_rq_total", 0),
        "upstream_rq_timeout": stats.get("upstream_rq_timeout", 0),
        "upstream_cx_connect_fail": stats.get("upstream_cx_connect_fail", 0),
        "ext_authz": health.ext_authz if isinstance(health, EnvoyHealth) else None,
    }


def overview_data(
    state: DiagState, health: Health, exporters: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the overview shows; the compatible overview JSON plus a few keys.

    `exporters`: Envoy's counters for the tracing and log services (see
    diag/observability.py), shown as `observability.envoy`."""
    data = state.overview()
    if "observability" in data:
        data["observability"]["envoy"] = dict(exporters) if exporters is not None else None
    data["error_groups"] = _group_by_resource(data.get("errors", []))
    data["notice_groups"] = _group_by_resource(data.get("notices", []))
    data["xds"], data["nacks"] = _nodes(data.get("nodes", []))
    data["cluster_health"] = {c: colour_of(health, c) for c in data.get("clusters", [])}
    if data.get("auth"):
        data["auth"] = {**data["auth"], "health": auth_health(health, data["auth"]["cluster"])}
    return data


def _login_part(login: dict[str, Any]) -> str:
    if login["mode"] == "refused":
        return f"login refused ({login['reason']})"
    return f"login: {login['login']}"


def _jwt_part(jwt: dict[str, Any]) -> str | None:
    mode = jwt["mode"]
    if mode == "required":
        return "jwt: " + " + ".join(jwt["providers"])
    if mode == "refused":
        return f"jwt refused ({jwt['reason']})"
    return "jwt: per request" if mode == "per-request" else None


def auth_summary(route: dict[str, Any]) -> str:
    """One line naming everything that authenticates the route (route_info's `auth`,
    `jwt` and `oauth2`): `ext_authz; jwt: default/main; login: login.default`,
    `bypassed (bypass_auth)`, or `none`."""
    parts = []
    auth = route.get("auth")
    if auth is not None:
        if auth["refused"] and auth["applies"]:
            parts.append(f"ext_authz refused ({auth['refused']})")
        else:
            parts.append("ext_authz" if auth["applies"] else f"bypassed ({auth['bypassed']})")
    jwt = _jwt_part(route["jwt"]) if route.get("jwt") else None
    if jwt is not None:
        parts.append(jwt)
    if route.get("oauth2"):
        parts.append(_login_part(route["oauth2"]))
    return "; ".join(parts) or "none"


def routes_data(state: DiagState, health: Health) -> dict[str, Any]:
    """The route table in match order, with each target's upstream colour."""
    routes = state.routes()
    for route in routes:
        for target in route["clusters"]:
            target["colour"] = colour_of(health, target["name"])
        route["colour"] = worst([t["colour"] for t in route["clusters"]])
        primary = route["mappings"][0] if route.get("mappings") else None
        route["resource_url"] = resource_url(primary) if primary else None
        route["auth_summary"] = auth_summary(route)
    return {"routes": routes, "envoy_reachable": health is not None}


def clusters_data(state: DiagState, health: Health) -> dict[str, Any]:
    """Every upstream cluster of the configuration, with Envoy's view of it."""
    gateway = state.gateway()
    clusters = []
    for cluster in gateway.clusters if gateway else ():
        found = health.get(cluster.name) if health else None
        clusters.append(
            {
                "name": cluster.name,
                "service": cluster.service,
                "mappings": [{"key": k, "url": resource_url(k)} for k in cluster.mappings],
                "colour": found.colour if found else "grey",
                "envoy": found.to_data() if found else None,
            }
        )
    return {"clusters": clusters, "envoy_reachable": health is not None}


def certificates_data(state: DiagState) -> dict[str, Any]:
    """Every certificate and CA bundle served, with a link to the resource it came from
    (a Secret's detail page; a file has none)."""
    gateway = state.gateway()
    rows = certificates(gateway) if gateway is not None else []
    for row in rows:
        source = str(row["source"]).split(", ")[0]  # a CA with a CRL: the CA's Secret
        row["source_url"] = resource_url(source) if source.startswith("Secret/") else None
    return {"certificates": rows}


def resource_data(state: DiagState, key: str) -> dict[str, Any] | None:
    """One resource's detail, with links to the routes' other Mappings."""
    data = state.resource(key)
    if data is None:
        return None
    for route in data.get("routes", []):
        route["mapping_urls"] = {k: resource_url(k) for k in route.get("mappings", [])}
    return data


def envoy_note(key: str, message: str) -> dict[str, Any]:
    """A runtime observation from Envoy about a resource, shaped like a problem."""
    return {
        "source": "Envoy",
        "resource": key,
        "message": message,
        "field": None,
        "severity": "notice",
        "file": None,
        "line": None,
        "annotation": None,
        "document": None,
    }


def tester_data(state: DiagState, params: Mapping[str, str]) -> dict[str, Any]:
    """The route tester: the form's values, and the answer when a path was given."""
    form = {
        "method": (params.get("method") or "GET").upper(),
        "host": params.get("host") or "",
        "path": params.get("path") or "",
        "headers": params.get("headers") or "",
    }
    data: dict[str, Any] = {"form": form, "answer": None, "error": None}
    if not form["path"]:
        return data
    try:
        headers = parse_header_lines(form["headers"])
    except ValueError as exc:
        data["error"] = str(exc)
        return data
    if form["host"]:
        headers["host"] = form["host"]
    url = form["path"] if form["path"].startswith("/") else "/" + form["path"]
    request = Request.from_url(form["method"], url, headers)
    answer = explanation_data(request, explain_gateway(state.gateway(), request))
    if answer["mappings"]:
        answer["resource_url"] = resource_url(answer["mappings"][0])
    for verdict in answer["considered"]:
        first = verdict["mappings"][0] if verdict["mappings"] else None
        verdict["resource_url"] = resource_url(first) if first else None
    data["answer"] = answer
    return data
