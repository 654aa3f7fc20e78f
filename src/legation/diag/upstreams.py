"""Upstream health and traffic, read from Envoy's admin `/clusters` and `/stats`.

Colours, as Ambassador users know them: green when every endpoint of a cluster is
healthy, yellow when some are, red when none are or the cluster has no endpoints, and
grey when Envoy could not be asked (or does not know the cluster yet). An endpoint is
healthy unless Envoy flags it (health checks, outlier detection, EDS status) or Envoy
has failed to connect to it and never had a successful request through it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

AdminGet = Callable[[str], Awaitable[tuple[int, str] | None]]
"""GET a path from Envoy's admin interface (None: Envoy unavailable)."""

CLUSTER_STATS: tuple[str, ...] = (
    "upstream_rq_total",
    "upstream_rq_2xx",
    "upstream_rq_4xx",
    "upstream_rq_5xx",
    "upstream_rq_timeout",
    "upstream_cx_connect_fail",
    "upstream_cx_active",
    "ssl.fail_verify_error",
    "ssl.connection_error",
)
"""Per-cluster counters shown on the clusters page; `ssl.*` tell why TLS to the
upstream failed (its certificate does not chain to the CA, or the handshake failed)."""

EXT_AUTHZ_STATS: tuple[str, ...] = ("ok", "denied", "error", "failure_mode_allowed", "disabled")
"""The ext_authz filter's counters (`http.<connection manager>.ext_authz.<stat>`): checks
allowed, denied, failed (the auth service could not be asked or answered badly), let
through anyway by `failure_mode_allow`, and skipped."""

_UNHEALTHY_FLAGS = (
    "failed_active_health_check",
    "failed_outlier_check",
    "failed_eds_health",
    "pending_dynamic_removal",
    "excluded_via_immediate_hc_fail",
    "active_hc_timeout",
)
_BAD_EDS_STATES = {"UNHEALTHY", "DRAINING", "TIMEOUT"}
_COLOUR_RANK = {"green": 0, "grey": 1, "yellow": 2, "red": 3}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One host of a cluster as Envoy sees it."""

    address: str
    healthy: bool
    problems: tuple[str, ...]
    """Envoy's health flags that are set (empty when healthy)."""
    rq_total: int = 0
    rq_success: int = 0
    rq_error: int = 0
    cx_connect_fail: int = 0


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """A cluster's endpoints and counters."""

    name: str
    endpoints: tuple[Endpoint, ...]
    stats: Mapping[str, int]

    @property
    def healthy(self) -> int:
        """Endpoints Envoy considers healthy."""
        return sum(1 for e in self.endpoints if e.healthy)

    @property
    def colour(self) -> str:
        """green (all healthy), yellow (some), red (none, or no endpoints)."""
        if not self.endpoints or self.healthy == 0:
            return "red"
        return "green" if self.healthy == len(self.endpoints) else "yellow"

    def to_data(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "colour": self.colour,
            "healthy": self.healthy,
            "endpoints": [
                {
                    "address": e.address,
                    "healthy": e.healthy,
                    "problems": list(e.problems),
                    "rq_total": e.rq_total,
                    "rq_success": e.rq_success,
                    "rq_error": e.rq_error,
                    "cx_connect_fail": e.cx_connect_fail,
                }
                for e in self.endpoints
            ],
            "stats": dict(self.stats),
        }


class EnvoyHealth(dict[str, UpstreamHealth]):
    """Every cluster's health by name, plus the ext_authz counters summed over all
    connection managers (the AuthService is one for the whole gateway)."""

    def __init__(
        self, clusters: Mapping[str, UpstreamHealth], ext_authz: Mapping[str, int]
    ) -> None:
        super().__init__(clusters)
        self.ext_authz: dict[str, int] = dict(ext_authz)


def worst(colours: list[str]) -> str:
    """The worst of several colours (grey when there are none)."""
    return max(colours, key=lambda c: _COLOUR_RANK.get(c, 1)) if colours else "grey"


def _address(host: Mapping[str, Any]) -> str:
    sock = host.get("address", {}).get("socket_address", {})
    if sock:
        return f"{sock.get('address', '?')}:{sock.get('port_value', 0)}"
    pipe = host.get("address", {}).get("pipe", {})
    return str(pipe.get("path", "?"))


def _endpoint(host: Mapping[str, Any]) -> Endpoint:
    status = host.get("health_status", {})
    problems = [flag for flag in _UNHEALTHY_FLAGS if status.get(flag)]
    eds = str(status.get("eds_health_status", "HEALTHY"))
    if eds in _BAD_EDS_STATES:
        problems.append(f"eds_health_status {eds}")
    stats = {s.get("name"): int(s.get("value", 0) or 0) for s in host.get("stats", [])}
    if stats.get("cx_connect_fail", 0) and not stats.get("rq_success", 0):
        # Without active health checks Envoy calls every host healthy; one it never
        # reached is not, for anyone reading this page.
        problems.append("unreachable: connection failures and no successful request")
    return Endpoint(
        address=_address(host),
        healthy=not problems,
        problems=tuple(problems),
        rq_total=stats.get("rq_total", 0),
        rq_success=stats.get("rq_success", 0),
        rq_error=stats.get("rq_error", 0),
        cx_connect_fail=stats.get("cx_connect_fail", 0),
    )


def parse_clusters(body: str) -> dict[str, tuple[Endpoint, ...]]:
    """Endpoints per cluster from admin `/clusters?format=json`."""
    data = json.loads(body or "{}")
    return {
        str(c.get("name")): tuple(_endpoint(h) for h in c.get("host_statuses", []))
        for c in data.get("cluster_statuses", [])
    }


def parse_stats(body: str) -> dict[str, dict[str, int]]:
    """`cluster.<name>.<stat>: value` lines (admin `/stats` text) → stats per cluster."""
    out: dict[str, dict[str, int]] = {}
    for line in body.splitlines():
        name, sep, value = line.partition(": ")
        if not sep or not name.startswith("cluster."):
            continue
        rest = name[len("cluster.") :]
        # a stat name may itself hold a dot (`ssl.fail_verify_error`)
        stat = next((s for s in CLUSTER_STATS if rest.endswith("." + s)), None)
        if stat is not None and value.strip().isdigit():
            out.setdefault(rest[: -len(stat) - 1], {})[stat] = int(value)
    return out


def parse_ext_authz(body: str) -> dict[str, int]:
    """`http.<prefix>.ext_authz.<stat>: value` lines → each counter summed over the
    connection managers (every stat of EXT_AUTHZ_STATS present, 0 when absent)."""
    out = dict.fromkeys(EXT_AUTHZ_STATS, 0)
    for line in body.splitlines():
        name, sep, value = line.partition(": ")
        head, _, stat = name.rpartition(".")
        ours = sep and name.startswith("http.") and head.endswith(".ext_authz")
        if ours and stat in out and value.strip().isdigit():
            out[stat] += int(value)
    return out


def _stats_path() -> str:
    # one /stats call for the clusters' counters and the ext_authz filter's
    cluster = r"^cluster\..+\.(" + "|".join(s.replace(".", r"\.") for s in CLUSTER_STATS) + ")$"
    authz = r"^http\..+\.ext_authz\.(" + "|".join(EXT_AUTHZ_STATS) + ")$"
    return "/stats?filter=" + quote(f"{cluster}|{authz}", safe="")


async def fetch_health(admin_get: AdminGet) -> EnvoyHealth | None:
    """Every cluster's health and counters, or None when Envoy cannot be asked."""
    clusters = await admin_get("/clusters?format=json")
    if clusters is None or clusters[0] != 200:
        return None
    stats = await admin_get(_stats_path())
    text = stats[1] if stats is not None and stats[0] == 200 else ""
    per_cluster = parse_stats(text)
    return EnvoyHealth(
        {
            name: UpstreamHealth(name, endpoints, per_cluster.get(name, {}))
            for name, endpoints in parse_clusters(clusters[1]).items()
        },
        parse_ext_authz(text),
    )


def colour_of(health: Mapping[str, UpstreamHealth] | None, cluster: str) -> str:
    """A cluster's colour; grey when unknown."""
    if health is None or cluster not in health:
        return "grey"
    return health[cluster].colour
