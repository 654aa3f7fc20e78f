"""One resource Envoy rejects does not block later changes: it is withheld and reported."""

from __future__ import annotations

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

BAD_HEADER = {":authority": "example.com"}
"""Adding a pseudo-header passes legation's validation, but Envoy NACKs it."""


def test_rejected_resource_is_withheld_and_later_changes_apply() -> None:
    with (
        EchoUpstream("up") as up,
        RunningGateway({"good.yaml": mapping("good", up.service, "/good/")}) as gw,
    ):
        gw.write("big.yaml", mapping("big", up.service, "/big/", add_request_headers=BAD_HEADER))

        def withheld() -> list[dict[str, object]]:
            return [e for e in gw.overview()["errors"] if e["resource"] == "Mapping/big.default"]

        [error] = poll(withheld)
        message = str(error["message"])
        assert "Envoy rejected" in message and "may not be modified" in message
        poll(lambda: gw.overview()["envoy"]["config_state"] == "in sync")
        # a later, good change reaches Envoy although the bad file is still there
        gw.write("later.yaml", mapping("later", up.service, "/later/"))
        gw.wait_status("/later/", 200)
        assert gw.get("/good/").status_code == 200
        # changing the withheld resource gives it another try; fixed, it routes
        gw.write("big.yaml", mapping("big", up.service, "/big/[0-9]+", prefix_regex=True))
        gw.wait_status("/big/42", 200)
        poll(lambda: not withheld())
