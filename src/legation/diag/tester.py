""" "Which route serves this request?" as plain data, for the UI, its JSON and the CLI."""

from __future__ import annotations

from typing import Any

from legation.diag.explain import Explanation, Request, explain
from legation.ir.gateway import Gateway


def parse_header_lines(text: str) -> dict[str, str]:
    """`name: value` lines (blank lines ignored) as a dict with lower-case names.

    Raises ValueError naming the first line without a colon.
    """
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"expected 'name: value', got {line.strip()!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def explain_gateway(gateway: Gateway | None, request: Request) -> Explanation | None:
    """Explain `request` against the gateway's (first) route configuration."""
    if gateway is None or not gateway.route_configs:
        return None
    return explain(gateway.route_configs[0], request)


def explanation_data(request: Request, answer: Explanation | None) -> dict[str, Any]:
    """The answer as JSON: the request, the winner (or null) and every route considered."""
    winner = answer.winner if answer else None
    group = answer.group if answer else ()
    return {
        "request": {
            "method": request.method,
            "host": request.host,
            "path": request.path,
            "query": [list(pair) for pair in request.query],
            "headers": dict(request.headers),
        },
        "virtual_host": answer.virtual_host.name if answer and answer.virtual_host else None,
        "route": winner.name if winner else None,
        "mappings": [k for r in group for k in r.mappings],
        "source": winner.source.describe() if winner else None,
        "clusters": [
            {"name": t.cluster, "weight": t.weight, "mapping": t.mapping, "route": r.name}
            for r in group
            for t in r.targets
        ],
        "considered": [
            {
                "route": v.route.name,
                "mappings": list(v.route.mappings),
                "source": v.route.source.describe(),
                "matched": v.matched,
                "reason": v.reason,
            }
            for v in (answer.considered if answer else ())
        ],
    }
