"""The tracing and log services in force, and what Envoy's exporters report about them.

"Traces silently missing" needs a place to look: the overview shows the TracingService
and LogServices the configuration uses, and Envoy's own counters for them (spans sent,
reports failed or dropped, log entries written or dropped, the collectors' connection
failures). Counters whose name says something went wrong and that are not zero are
listed apart, under `errors`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from legation.diag.upstreams import AdminGet
from legation.ir.gateway import Gateway

_CLUSTER_STATS = ("upstream_cx_connect_fail", "upstream_cx_total", "upstream_rq_total",
                  "upstream_rq_5xx", "upstream_rq_timeout")  # fmt: skip
_ERROR_WORDS = ("fail", "dropped", "skipped", "5xx", "timeout")


def observability_config(gateway: Gateway | None) -> dict[str, Any]:
    """The TracingService and LogServices of the configuration, as plain data."""
    if gateway is None:
        return {"tracing": None, "log_services": []}
    tracing = None
    if gateway.tracing is not None:
        t = gateway.tracing
        tracing = {
            "resource": t.resource,
            "driver": t.driver.value,
            "service": t.cluster.service,
            "cluster": t.cluster.name,
            "service_name": t.service_name,
            "sampling": {
                "client": t.sampling.client,
                "random": t.sampling.random,
                "overall": t.sampling.overall,
            },
        }
    logs = [
        {
            "resource": s.resource,
            "driver": s.driver.value,
            "service": s.cluster.service,
            "cluster": s.cluster.name,
            "additional_request_headers": list(s.request_headers),
        }
        for s in gateway.log_services
    ]
    return {"tracing": tracing, "log_services": logs}


def _stats_path(clusters: list[str]) -> str:
    # tracing.<driver>.*: exports; http.<manager>.tracing.*: sampling decisions
    parts = [r"tracing\..+", r"http\.[^.]+\.tracing\..+", r"access_logs\..+"]
    stats = "|".join(_CLUSTER_STATS)
    parts.extend(rf"cluster\.{name}\.({stats})" for name in clusters)
    return "/stats?filter=" + quote("^(" + "|".join(parts) + ")$", safe="")


def parse_counters(body: str) -> dict[str, int]:
    """`name: value` lines of Envoy's admin `/stats` → integer counters and gauges."""
    out = {}
    for line in body.splitlines():
        name, sep, value = line.partition(": ")
        if sep and value.strip().isdigit():
            out[name] = int(value)
    return out


async def exporter_stats(admin_get: AdminGet, config: dict[str, Any]) -> dict[str, Any] | None:
    """Envoy's tracer, gRPC access-log and collector-cluster counters (None: no Envoy)."""
    clusters = [s["cluster"] for s in config["log_services"]]
    if config["tracing"] is not None:
        clusters.append(config["tracing"]["cluster"])
    if not clusters:
        return {"stats": {}, "errors": {}}
    answer = await admin_get(_stats_path(clusters))
    if answer is None or answer[0] != 200:
        return None
    stats = parse_counters(answer[1])
    errors = {k: v for k, v in stats.items() if v and any(w in k for w in _ERROR_WORDS)}
    return {"stats": stats, "errors": errors}


def exporter_notes(config: dict[str, Any], exporters: dict[str, Any] | None) -> dict[str, str]:
    """Per TracingService / LogService key, what Envoy's error counters say (if anything).

    `tracing.*` belongs to the TracingService, `access_logs.*` to every LogService (Envoy
    counts them together), `cluster.<name>.*` to the resource owning the cluster."""
    if not exporters or not exporters.get("errors"):
        return {}
    owners: list[tuple[str, str, str]] = []  # (key, cluster, own stat prefix)
    if config["tracing"] is not None:
        owners.append((config["tracing"]["resource"], config["tracing"]["cluster"], "tracing."))
    owners.extend((s["resource"], s["cluster"], "access_logs.") for s in config["log_services"])
    notes: dict[str, str] = {}
    for key, cluster, prefix in owners:
        mine = {
            name: value
            for name, value in sorted(exporters["errors"].items())
            if name.startswith((prefix, f"cluster.{cluster}."))
        }
        if mine:
            counters = ", ".join(f"{name} = {value}" for name, value in mine.items())
            notes[key] = f"Envoy reports export problems ({counters}): data is being lost"
    return notes
