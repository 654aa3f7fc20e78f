"""A configuration Envoy rejects (NACK) shows in the UI and JSON with Envoy's message,
while traffic keeps flowing on the last good configuration and the gateway stays ready."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

BIG_REGEX = "/(a|b|c|d|e|f|g|h){60}"
"""RE2 program size 184: Envoy refuses regexes over 100 unless its runtime says otherwise."""


def _nacks(gw: RunningGateway) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = gw.diag("/ambassador/v0/diag/?json=true").json()["nacks"]
    return data


@pytest.mark.parametrize("flavour", ["sotw", "delta"])
def test_nack_is_reported_and_last_good_config_keeps_serving(flavour: str) -> None:
    extra = ["--xds-delta"] if flavour == "delta" else []
    with (
        EchoUpstream("good") as up,
        RunningGateway({"good.yaml": mapping("good", up.service, "/good/")}, extra) as gw,
    ):
        # Valid RE2 (legation checks with RE2), but over Envoy's default program-size
        # limit, which is Envoy runtime configuration and left to Envoy to enforce.
        gw.write("regex.yaml", mapping("big", up.service, BIG_REGEX, prefix_regex=True))
        [nack] = poll(lambda: _nacks(gw))
        assert nack["type"] == "route" and "program size" in nack["message"]
        overview = gw.overview()
        assert overview["envoy"]["config_state"] == "rejected"
        assert overview["errors"] == []  # legation itself saw nothing wrong
        # Envoy still routes with the configuration it accepted, and the gateway is ready
        assert gw.get("/good/x").status_code == 200
        assert gw.diag("/ambassador/v0/check_ready").status_code == 200
        html = gw.client.get(
            f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/", headers={"accept": "text/html"}
        ).text
        assert "rejected" in html and "program size" in html
        metrics = gw.diag("/metrics").text
        nacks = {
            s.labels["type"]: s.value
            for f in text_string_to_metric_families(metrics)
            if f.name == "legation_xds_nacks"
            for s in f.samples
            if s.name.endswith("_total")
        }
        assert nacks["route"] >= 1
        # fixing the input clears the NACK, and the new route works
        gw.write("regex.yaml", mapping("big", up.service, "/a(b)?/", prefix_regex=True))
        poll(lambda: not _nacks(gw))
        gw.wait_status("/ab/", 200)
        assert gw.overview()["envoy"]["config_state"] == "in sync"
