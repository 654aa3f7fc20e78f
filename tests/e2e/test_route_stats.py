"""Per-Mapping statistics: each Mapping's routes carry a `stat_prefix`, so the gateway's
/metrics has request counts, status classes and latency per Mapping (real Envoy)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll


def _route_samples(text: str) -> dict[tuple[str, str, str], float]:
    """(sample name, route label, status class / code / bucket) → value, for the
    route-level series (prometheus_client names counter samples `..._total`)."""
    out: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            route = s.labels.get("envoy_route")
            if route is None:
                continue
            labels = s.labels
            extra = (
                labels.get("envoy_response_code_class")
                or labels.get("envoy_response_code")
                or labels.get("le")
                or ""
            )
            out[(s.name, route, extra)] = s.value
    return out


def test_two_mappings_have_separate_request_counters() -> None:
    with EchoUpstream("a") as up:
        files = {
            "m.yaml": mapping("alpha", up.service, "/alpha/")
            + mapping("beta", up.service, "/beta/", stats_name="beta.stats")
        }
        with RunningGateway(files) as gw:
            for _ in range(3):
                assert gw.get("/alpha/x").status_code == 200
            for path in ("/beta/1", "/beta/2", "/beta/status/503"):
                gw.get(path)

            def counts() -> dict[tuple[str, str, str], float] | None:
                samples = _route_samples(gw.diag("/metrics").text)
                key_a = ("envoy_vhost_route_upstream_rq_completed_total", "alpha", "")
                key_b = ("envoy_vhost_route_upstream_rq_completed_total", "beta_stats", "")
                # histograms are merged at Envoy's stats flush (every 5 s)
                key_t = ("envoy_vhost_route_upstream_rq_time_count", "alpha", "")
                done = samples.get(key_a) == 3 and samples.get(key_b) == 3
                done = done and samples.get(key_t) == 3
                return samples if done else None

            samples = poll(counts, timeout=20, interval=0.5)
            # status classes per Mapping: beta had one 503, alpha none
            assert samples[("envoy_vhost_route_upstream_rq_xx_total", "beta_stats", "5")] == 1
            assert samples[("envoy_vhost_route_upstream_rq_xx_total", "beta_stats", "2")] == 2
            assert samples[("envoy_vhost_route_upstream_rq_xx_total", "alpha", "2")] == 3
            assert ("envoy_vhost_route_upstream_rq_xx_total", "alpha", "5") not in samples
            # a latency histogram per Mapping
            assert samples[("envoy_vhost_route_upstream_rq_time_count", "beta_stats", "")] == 3


def test_a_thousand_mappings_give_a_bounded_documented_number_of_series() -> None:
    """As the README says: per Mapping and virtual host, 6 series before any request
    (4 retry counters, timeout, total); once it served requests, `completed`, the
    latency histogram (20 buckets, sum, count) and one series per status class and code."""
    count = 1000
    with EchoUpstream("a") as up:
        text = "".join(mapping(f"m{i}", up.service, f"/m{i}/") for i in range(count))
        with RunningGateway({"many.yaml": text}) as gw:
            assert gw.get("/m999/x").status_code == 200

            def per_route() -> dict[str, int] | None:
                series: dict[str, int] = {}
                for family in text_string_to_metric_families(gw.diag("/metrics").text):
                    for s in family.samples:
                        route = s.labels.get("envoy_route")
                        if route is not None:
                            series[route] = series.get(route, 0) + 1
                done = len(series) == count and series.get("m999") == 6 + 1 + 22 + 2
                return series if done else None

            series = poll(per_route, timeout=30, interval=0.5)
            assert set(series) == {f"m{i}" for i in range(count)}
            # every untouched Mapping: exactly the fixed set, whatever the traffic elsewhere
            assert {series[f"m{i}"] for i in range(count - 1)} == {6}
            # m999 (polled until its histogram was flushed): completed, histogram, 200, 2xx
            assert sum(series.values()) == 6 * (count - 1) + 31


def _module(mapping_stats: bool) -> str:
    return (
        "apiVersion: getambassador.io/v3alpha1\nkind: Module\n"
        "metadata: {name: ambassador, namespace: default}\n"
        f"spec:\n  config:\n    mapping_stats: {str(mapping_stats).lower()}\n"
    )


def _route_series(gw: RunningGateway) -> set[str]:
    return {route for (_, route, _) in _route_samples(gw.diag("/metrics").text)}


def test_module_mapping_stats_false_turns_them_off_live() -> None:
    """`mapping_stats: false` drops the routes' stat_prefix (the cluster still counts the
    requests); setting it back brings the per-Mapping series again, without a restart."""
    with EchoUpstream("a") as up:
        files = {"m.yaml": mapping("alpha", up.service, "/alpha/"), "mod.yaml": _module(False)}
        with RunningGateway(files) as gw:
            pid = gw.overview()["envoy"]["pid"]
            for _ in range(3):
                assert gw.get("/alpha/x").status_code == 200

            def cluster_total() -> float | None:
                total = 0.0
                for family in text_string_to_metric_families(gw.diag("/metrics").text):
                    for s in family.samples:
                        if s.name == "envoy_cluster_upstream_rq_completed_total":
                            total += s.value
                return total if total >= 3 else None

            poll(cluster_total, timeout=20, interval=0.5)
            assert _route_series(gw) == set()

            gw.write("mod.yaml", _module(True))
            poll(lambda: _route_series(gw) == {"alpha"} or None, timeout=20, interval=0.2)
            assert gw.get("/alpha/y").status_code == 200
            assert gw.overview()["envoy"]["pid"] == pid
