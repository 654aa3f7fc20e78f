"""The control plane's own Prometheus metrics, in a private registry.

Event metrics (reconfigurations, stage durations) are recorded as they happen; state
metrics (xDS counters, resources by kind, errors, the version in force) are read from
the gateway at scrape time by a collector, so they can never drift from the truth.
Every label has a small, fixed set of values: xDS types, resource kinds, severities.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from legation import __version__
from legation.envoy.process import EnvoyProcess
from legation.ir.errors import Severity
from legation.runtime.pipeline import BuildResult
from legation.xds.cache import XdsCache
from legation.xds.types import SHORT_NAMES

_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class MetricsSource(Protocol):
    """What the collector reads from the running gateway."""

    cache: XdsCache
    last: BuildResult | None
    version: str
    envoy: EnvoyProcess | None


def type_label(type_url: str) -> str:
    """A bounded label for an xDS type URL: `cluster`, `route`, ... or `other`."""
    return SHORT_NAMES.get(type_url, "other")


class _StateCollector(Collector):
    """Reads the gateway's state at scrape time."""

    def __init__(self, source: MetricsSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        """Yield the state metrics."""
        src = self._source
        yield from self._xds(src.cache)
        yield from self._config(src)
        envoy = src.envoy
        up = GaugeMetricFamily("legation_envoy_up", "1 while the Envoy process runs.")
        up.add_metric([], 1.0 if envoy is not None and envoy.alive else 0.0)
        yield up
        restarts = CounterMetricFamily(
            "legation_envoy_restarts", "Times the supervisor restarted Envoy."
        )
        restarts.add_metric([], float(envoy.restarts if envoy is not None else 0))
        yield restarts

    def _xds(self, cache: XdsCache) -> Iterator[Metric]:
        counters = cache.counters()
        for key, name, text in (
            ("pushes", "legation_xds_pushes", "xDS responses sent, by type."),
            ("acks", "legation_xds_acks", "xDS ACKs received, by type."),
            ("nacks", "legation_xds_nacks", "xDS NACKs (rejections) received, by type."),
        ):
            family = CounterMetricFamily(name, text, labels=["type"])
            totals: dict[str, int] = {short: 0 for short in SHORT_NAMES.values()}
            for url, count in counters[key].items():
                label = type_label(url)
                totals[label] = totals.get(label, 0) + count
            for label in sorted(totals):
                family.add_metric([label], float(totals[label]))
            yield family
        nodes = cache.nodes()
        connected = [n for n in nodes if n.connected]
        gauge = GaugeMetricFamily(
            "legation_xds_nodes", "Envoy nodes by xDS state.", labels=["state"]
        )
        gauge.add_metric(["connected"], float(len(connected)))
        gauge.add_metric(["in_sync"], float(sum(1 for n in connected if n.in_sync(cache.version))))
        yield gauge

    def _config(self, src: MetricsSource) -> Iterator[Metric]:
        result = src.last
        kinds = GaugeMetricFamily(
            "legation_resources", "Resources in the configuration, by kind.", labels=["kind"]
        )
        problems = GaugeMetricFamily(
            "legation_config_problems", "Configuration problems, by severity.", labels=["severity"]
        )
        in_error = GaugeMetricFamily(
            "legation_resources_in_error", "Resources with at least one error."
        )
        counts: dict[str, int] = {}
        by_severity = {s.value: 0 for s in Severity}
        bad: set[str] = set()
        if result is not None:
            for res in result.compiled.resources:
                counts[res.kind] = counts.get(res.kind, 0) + 1
            for p in result.problems:
                by_severity[p.severity.value] += 1
                if p.severity is Severity.ERROR:
                    bad.add(p.resource or p.source.location)
        for kind in sorted(counts):
            kinds.add_metric([kind], float(counts[kind]))
        for severity in sorted(by_severity):
            problems.add_metric([severity], float(by_severity[severity]))
        in_error.add_metric([], float(len(bad)))
        info = GaugeMetricFamily(
            "legation_config_info",
            "The configuration version served (1 for the current version).",
            labels=["version"],
        )
        info.add_metric([src.version or "none"], 1.0)
        yield from (kinds, problems, in_error, info)


class ControlPlaneMetrics:
    """legation's metrics in their own registry (nothing global, so tests can make many)."""

    def __init__(self, source: MetricsSource) -> None:
        """Register the metrics; `source` is read at every scrape."""
        self.registry = CollectorRegistry(auto_describe=True)
        build = Gauge(
            "legation_build_info",
            "Always 1; the legation version is in a label.",
            ["version"],
            registry=self.registry,
        )
        build.labels(__version__).set(1)
        self.reconfigurations = Counter(
            "legation_reconfigurations",
            "Configurations compiled and published.",
            registry=self.registry,
        )
        self.failures = Counter(
            "legation_reconfiguration_failures",
            "Builds that failed unexpectedly (the last good configuration was kept).",
            registry=self.registry,
        )
        self.compile_seconds = Histogram(
            "legation_compile_duration_seconds",
            "Time to compile the configuration into the IR.",
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.translate_seconds = Histogram(
            "legation_translate_duration_seconds",
            "Time to translate the IR into Envoy resources.",
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self._last_reload_at = 0.0
        self.registry.register(_StateCollector(source))
        self.registry.register(_TimestampCollector(self))

    def observe_build(self, result: BuildResult) -> None:
        """Record one published configuration."""
        self.reconfigurations.inc()
        self.compile_seconds.observe(result.compile_seconds)
        self.translate_seconds.observe(result.translate_seconds)
        self._last_reload_at = time.time()

    def observe_failure(self) -> None:
        """Record a build that raised."""
        self.failures.inc()

    @property
    def last_reload_at(self) -> float:
        """Unix time of the last published configuration (0 before the first)."""
        return self._last_reload_at

    def render(self) -> bytes:
        """The Prometheus text exposition of every control-plane metric."""
        return bytes(generate_latest(self.registry))


class _TimestampCollector(Collector):
    """The time of the last published configuration."""

    def __init__(self, metrics: ControlPlaneMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        """Yield one gauge."""
        gauge = GaugeMetricFamily(
            "legation_config_last_reload_timestamp_seconds",
            "Unix time the current configuration was published.",
        )
        gauge.add_metric([], self._metrics.last_reload_at)
        yield gauge
