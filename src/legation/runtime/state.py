"""The runtime's view of itself, exposed to diagnostics as plain data."""

from __future__ import annotations

import dataclasses
from typing import Any

from legation.ir.errors import ConfigProblem
from legation.ir.gateway import Gateway
from legation.runtime.pipeline import BuildResult


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
    }


def route_info(gateway: Gateway) -> list[dict[str, Any]]:
    """Every route of every virtual host, in match order, with its targets and source."""
    out = []
    for rc in gateway.route_configs:
        for vh in rc.virtual_hosts:
            for route in vh.routes:
                m = route.match
                out.append(
                    {
                        "name": route.name,
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
                        "mappings": list(route.mappings),
                        "clusters": [
                            {"name": t.cluster, "weight": t.weight, "mapping": t.mapping}
                            for t in route.targets
                        ],
                    }
                )
    return out


def build_overview(result: BuildResult | None) -> dict[str, Any]:
    """The configuration part of the diagnostics overview."""
    if result is None:
        return {"errors": [], "notices": [], "route_info": [], "resources": {}}
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
    }
