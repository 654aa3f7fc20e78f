"""Envoy accepts what the new Module and Mapping fields generate: each golden case's
input runs in a real gateway, and no xDS type was ever NACKed.

(`error_response_overrides` is covered by test_module_fields.py: its golden case
names a body file that does not exist here, which Envoy would rightly refuse.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.gateway import RunningGateway, poll

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = [
    "module_gzip",
    "module_http_filters",
    "module_ip_allow",
    "module_ip_deny",
    "module_listener_settings",
    "module_mapping_defaults",
    "mapping_cluster_fields",
    "ingress_v1beta1",
    "ingress_service_absent",
    "resolver_endpoint_alias",
    "api_ambassador_v2",
    "auth_http",
    "auth_grpc",
    "auth_errors",
    "jwt_filters",
    "oauth2",
    "tracing_zipkin",
    "tracing_opentelemetry",
    "tracing_datadog",
    "log_service",
    "observability_errors",
]


def _nacks(gw: RunningGateway) -> list[object]:
    return [
        (row["type"], row["nack"])
        for node in gw.overview()["xds"]
        for row in node["types"]
        if row["nack"]
    ]


@pytest.mark.parametrize("case", CASES)
def test_envoy_accepts(case: str) -> None:
    files = {"in.yaml": (GOLDEN / case / "in.yaml").read_text()}
    with RunningGateway(files) as gw:
        poll(lambda: gw.overview()["envoy"]["config_state"] == "in sync", 15)
        assert _nacks(gw) == []
        rejected = [e for e in gw.overview()["errors"] if "Envoy rejected" in str(e["message"])]
        assert rejected == []
