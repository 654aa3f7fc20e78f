"""A configuration Envoy rejects (NACK) shows in the UI and JSON with Envoy's message,
on the resource that caused it, while traffic keeps flowing and the gateway stays ready."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

BAD_HEADER = {":authority": "example.com"}
"""Envoy refuses routes that add a pseudo-header (`check` does not know that yet; a regex
over Envoy's RE2 program-size limit was used here until `check` caught it)."""
REJECTED = "may not be modified"


def _last_route_nack(gw: RunningGateway) -> dict[str, Any] | None:
    """The route type's most recent NACK as the overview JSON keeps it (in force or not)."""
    for node in gw.diag("/ambassador/v0/diag/?json=true").json()["xds"]:
        for row in node["types"]:
            if row["type"] == "route" and row["nack"]:
                return dict(row["nack"])
    return None


@pytest.mark.parametrize("flavour", ["sotw", "delta"])
def test_nack_is_reported_and_last_good_config_keeps_serving(flavour: str) -> None:
    extra = ["--xds-delta"] if flavour == "delta" else []
    with (
        EchoUpstream("good") as up,
        RunningGateway({"good.yaml": mapping("good", up.service, "/good/")}, extra) as gw,
    ):
        # Passes legation's validation, but Envoy's route validation refuses it.
        gw.write("regex.yaml", mapping("big", up.service, "/big/", add_request_headers=BAD_HEADER))
        nack = poll(lambda: _last_route_nack(gw))
        assert REJECTED in nack["message"]
        # The rejected Mapping is withheld and carries Envoy's message as its error; the
        # rest is pushed again and accepted (see test_quarantine.py).
        errors = poll(
            lambda: [e for e in gw.overview()["errors"] if e["resource"] == "Mapping/big.default"]
        )
        assert REJECTED in str(errors[0]["message"])
        assert errors[0]["file"] == "regex.yaml"
        poll(lambda: gw.overview()["envoy"]["config_state"] == "in sync")
        # Envoy kept routing throughout, and the gateway is ready
        assert gw.get("/good/x").status_code == 200
        assert gw.diag("/ambassador/v0/check_ready").status_code == 200
        html = gw.client.get(
            f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/", headers={"accept": "text/html"}
        ).text
        assert REJECTED in html
        metrics = gw.diag("/metrics").text
        nacks = {
            s.labels["type"]: s.value
            for f in text_string_to_metric_families(metrics)
            if f.name == "legation_xds_nacks"
            for s in f.samples
            if s.name.endswith("_total")
        }
        assert nacks["route"] >= 1
        # fixing the input clears the error, and the new route works
        gw.write("regex.yaml", mapping("big", up.service, "/a(b)?/", prefix_regex=True))
        gw.wait_status("/ab/", 200)
        poll(
            lambda: (
                not [e for e in gw.overview()["errors"] if e["resource"] == "Mapping/big.default"]
            )
        )
        assert gw.overview()["envoy"]["config_state"] == "in sync"
