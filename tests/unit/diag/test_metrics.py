"""The control plane's metrics parse, and carry bounded labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from legation.compile.compiler import CompileOptions
from legation.envoy.process import EnvoyProcess
from legation.runtime.metrics import ControlPlaneMetrics
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.sources.files import FolderReader
from legation.xds import types
from legation.xds.cache import XdsCache
from tests.unit.diag.fake import write_config


@dataclass
class Source:
    cache: XdsCache
    last: BuildResult | None
    version: str
    envoy: EnvoyProcess | None


def test_metrics_render_and_parse(tmp_path: Path) -> None:
    folder = write_config(
        tmp_path,
        {
            "a.yaml": "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
            "metadata: {name: a}\nspec: {prefix: /a/, service: x:1}\n",
            "b.yaml": "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
            "metadata: {name: b}\nspec: {prefix: /b/}\n",
        },
    )
    result = Pipeline(CompileOptions()).build(FolderReader(folder).read())
    cache = XdsCache()
    version = cache.set_resources(result.resources.by_type_url())
    cache.record_push(types.ROUTE)
    cache.record_nack(types.ROUTE)
    cache.record_ack("type.googleapis.com/some.Unknown")
    metrics = ControlPlaneMetrics(Source(cache, result, version, None))
    metrics.observe_build(result)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }
    assert samples[("legation_reconfigurations_total", ())] == 1
    assert samples[("legation_compile_duration_seconds_count", ())] == 1
    assert samples[("legation_translate_duration_seconds_count", ())] == 1
    assert samples[("legation_xds_nacks_total", (("type", "route"),))] == 1
    assert samples[("legation_xds_acks_total", (("type", "other"),))] == 1
    assert samples[("legation_resources", (("kind", "Mapping"),))] == 1
    assert samples[("legation_resources_in_error", ())] == 1
    assert samples[("legation_config_info", (("version", version),))] == 1
    assert samples[("legation_envoy_up", ())] == 0
