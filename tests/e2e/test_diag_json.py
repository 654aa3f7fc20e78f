"""Diagnostics JSON through a real gateway: errors and routes match the input (with
annotation provenance), every page answers JSON, /metrics, log levels, access logs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

BROKEN = """\
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: broken
  namespace: default
spec:
  prefix: /broken/
  service: 127.0.0.1:1
  prefx: /oops/
"""


def annotated(service: str) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: quote
  namespace: shop
  annotations:
    getambassador.io/config: |
      ---
      apiVersion: getambassador.io/v2
      kind: Mapping
      name: quote
      prefix: /quote/
      service: {service}
      weight: 100
      ---
      apiVersion: getambassador.io/v2
      kind: Mapping
      name: quote-bad
      prefix: /quote-bad/
      service: {service}
      timeout_ms: soon
spec:
  ports: [{{port: 80}}]
"""


def module(log_path: Path) -> str:
    return f"""\
apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {{name: ambassador, namespace: default}}
spec:
  config:
    envoy_log_type: json
    envoy_log_format: {{method: "%REQ(:METHOD)%", path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", code: "%RESPONSE_CODE%"}}
    envoy_log_path: {log_path}
    diagnostics: {{enabled: true}}
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    log_path = tmp_path_factory.mktemp("access") / "access.log"
    with EchoUpstream("good") as up:
        files = {
            "good.yaml": mapping("good", up.service, "/good/", headers={"x-env": "prod"}),
            "canary.yaml": mapping(
                "canary", up.service, "/good/", headers={"x-env": "prod"}, weight=25
            ),
            "broken.yaml": BROKEN,
            "svc.yaml": annotated(up.service),
            "module.yaml": module(log_path),
        }
        with RunningGateway(files) as running:
            running.access_log = log_path  # type: ignore[attr-defined]
            yield running


def page(gw: RunningGateway, path: str) -> dict[str, Any]:
    response = gw.diag(f"/ambassador/v0/diag/{path}{'&' if '?' in path else '?'}json=true")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_errors_name_file_line_and_annotation_document(gw: RunningGateway) -> None:
    errors = {e["resource"]: e for e in page(gw, "")["errors"]}
    broken = errors["Mapping/broken.default"]
    assert (broken["file"], broken["line"], broken["field"]) == ("broken.yaml", 9, "spec.prefx")
    assert broken["source"] == "broken.yaml:9"
    bad = errors["Mapping/quote-bad.shop"]
    assert (bad["file"], bad["annotation"], bad["document"]) == (
        "svc.yaml",
        "getambassador.io/config",
        1,
    )
    assert bad["field"] == "timeout_ms" and bad["line"] == 21  # the line inside svc.yaml
    assert "annotation getambassador.io/config[1]" in bad["source"]


def test_route_info_matches_input_with_provenance(gw: RunningGateway) -> None:
    routes = page(gw, "")["route_info"]
    quote = next(r for r in routes if r["path"]["value"] == "/quote/")
    assert quote["mappings"] == ["Mapping/quote.shop"]
    assert quote["provenance"]["annotation"] == "getambassador.io/config"
    assert quote["provenance"]["document"] == 0
    assert quote["provenance"]["location"] == "svc.yaml"
    assert quote["source"].startswith("svc.yaml:") and quote["source"].endswith("config[0]")
    good = next(r for r in routes if r["path"]["value"] == "/good/")
    assert good["headers"] == [{"name": "x-env", "value": "prod", "regex": False}]
    assert sorted((c["mapping"], c["weight"]) for c in good["clusters"]) == [
        ("Mapping/canary.default", 25),
        ("Mapping/good.default", 75),
    ]
    assert not any(r["path"]["value"] in ("/broken/", "/quote-bad/") for r in routes)


def test_pages_answer_json(gw: RunningGateway) -> None:
    for _ in range(3):
        assert gw.get("/good/x", headers={"x-env": "prod"}).status_code == 200
    routes = page(gw, "routes")["routes"]
    good = next(r for r in routes if r["path"]["value"] == "/good/")
    assert good["colour"] == "green"
    assert good["resource_url"] == f"/ambassador/v0/diag/resource/{good['mappings'][0]}"
    clusters = page(gw, "clusters")["clusters"]
    [cluster] = [c for c in clusters if "Mapping/good.default" in [m["key"] for m in c["mappings"]]]
    assert cluster["colour"] == "green"
    assert poll(
        lambda: (
            page(gw, "clusters")["clusters"][0]["envoy"]["stats"].get("upstream_rq_total", 0) >= 3
        )
    )
    detail = page(gw, "resource/Mapping/quote-bad.shop")
    assert detail["valid"] is False and "timeout_ms: soon" in detail["inputs"][0]["yaml"]
    assert detail["inputs"][0]["provenance"]["document"] == 1
    detail = page(gw, "resource/Mapping/quote.shop")
    assert detail["valid"] is True and detail["routes"][0]["path"]["value"] == "/quote/"
    assert detail["envoy"]["routes"] and detail["envoy"]["clusters"]
    answer = page(gw, "explain?method=GET&path=/good/x&headers=x-env%3A%20dev")["answer"]
    assert answer["route"] is None
    assert any("header x-env" in v["reason"] for v in answer["considered"])


def test_metrics_hold_envoy_and_legation_series(gw: RunningGateway) -> None:
    response = gw.diag("/metrics")
    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert any(name.startswith("envoy_") for name in families)
    for name in (
        "legation_reconfigurations",
        "legation_compile_duration_seconds",
        "legation_translate_duration_seconds",
        "legation_xds_pushes",
        "legation_xds_acks",
        "legation_xds_nacks",
        "legation_resources",
        "legation_resources_in_error",
        "legation_config_info",
    ):
        assert name in families, name
    in_error = families["legation_resources_in_error"].samples[0].value
    assert in_error == 2
    acks = {
        s.labels["type"]: s.value
        for s in families["legation_xds_acks"].samples
        if s.name.endswith("_total")
    }
    assert acks["route"] >= 1 and acks["cluster"] >= 1


def test_access_log_is_json_lines(gw: RunningGateway) -> None:
    assert gw.get("/good/logged", headers={"x-env": "prod"}).status_code == 200
    path: Path = gw.access_log  # type: ignore[attr-defined]

    def logged() -> dict[str, Any] | None:
        if not path.exists():
            return None
        for line in path.read_text().splitlines():
            entry: dict[str, Any] = json.loads(line)
            if entry.get("path") == "/good/logged":
                return entry
        return None

    entry = poll(logged, timeout=10)
    assert entry["method"] == "GET" and entry["code"] == 200


def test_loglevel_cli_changes_envoy_and_legation(gw: RunningGateway) -> None:
    cli = [sys.executable, "-m", "legation.cli.main", "loglevel"]
    out = subprocess.run(
        [*cli, "debug", "--component", "envoy", "--diag-port", str(gw.diag_port)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "envoy: debug" in out.stdout
    assert page(gw, "")["log_levels"]["envoy"] == "debug"
    admin = gw.admin("/logging", "POST").text
    assert "router: debug" in admin
    out = subprocess.run(
        [*cli, "warning", "--diag-port", str(gw.diag_port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "legation: warning, envoy: warning" in out.stdout
    base = f"http://127.0.0.1:{gw.diag_port}"
    bad = gw.client.post(
        f"{base}/ambassador/v0/diag/loglevel?level=loud&json=true", headers={"origin": base}
    )
    assert bad.status_code == 400
