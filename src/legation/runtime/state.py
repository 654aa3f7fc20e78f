"""The runtime's view of itself, exposed to diagnostics as plain data."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Any

from legation.diag.observability import observability_config
from legation.ir.errors import ConfigProblem
from legation.ir.gateway import Gateway
from legation.ir.provenance import Source
from legation.ir.routes import Route
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


def route_info(gateway: Gateway) -> list[dict[str, Any]]:
    """Every route of every virtual host, in match order, with its targets and source.

    The member routes of a canary group make one entry, listing every member's cluster,
    weight and own settings.
    """
    out = []
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
        "observability": observability_config(result.compiled.gateway),
    }


EXPIRY_WARNING_DAYS = 14
"""Certificates expiring sooner than this are flagged in the diagnostics."""


def certificates(gateway: Gateway, now: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """What the diagnostics show of each secret: never key bytes, only the certificate's
    subject, SANs, issuer, validity and fingerprint, and whether it expires soon."""
    now = now or datetime.datetime.now(datetime.UTC)
    out = []
    for secret in gateway.secrets:
        cert = secret.certificate
        left = datetime.datetime.fromisoformat(cert.not_after) - now
        out.append(
            {
                "name": secret.name,
                "kind": secret.kind.value,
                "source": secret.source,
                "subject": cert.subject,
                "issuer": cert.issuer,
                "sans": list(cert.sans),
                "not_before": cert.not_before,
                "not_after": cert.not_after,
                "fingerprint_sha256": cert.fingerprint_sha256,
                "expires_in_days": left.days,
                "expiring_soon": left < datetime.timedelta(days=EXPIRY_WARNING_DAYS),
            }
        )
    return out


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
