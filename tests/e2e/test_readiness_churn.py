"""Readiness under configuration churn: `check_ready` means "serving", so a steady stream
of changes (each one briefly pending in Envoy) must not take the gateway out of service.

Issue 8, finding 9: with one change every 100 ms and 1,000 Mappings, readiness used to
answer 503 in 90 % of polls while traffic flowed fine.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.load import Load

MAPPINGS = 1000
CHANGES_PER_S = 10
DURATION_S = 20.0


def _bulk(service: str) -> str:
    """1,000 Mappings in one file."""
    return "".join(mapping(f"bulk-{i}", service, f"/bulk/{i}/") for i in range(MAPPINGS))


class ReadyPoller(threading.Thread):
    """Polls check_ready every 10 ms until stopped (bounded to 60 s); counts statuses."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.statuses: Counter[int] = Counter()
        self.stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=2.0) as client:
            deadline = time.monotonic() + 60
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                try:
                    self.statuses[client.get(self.url).status_code] += 1
                except httpx.HTTPError:
                    self.statuses[0] += 1
                self.stop_event.wait(0.01)


def test_ready_stays_200_under_churn(capsys: pytest.CaptureFixture[str]) -> None:
    with EchoUpstream("a") as a, EchoUpstream("b") as b:
        files = {"bulk.yaml": _bulk(a.service), "moving.yaml": mapping("moving", a.service, "/m/")}
        with RunningGateway(files) as gw:
            poller = ReadyPoller(f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/check_ready")
            changes = 0
            with Load(gw.url(""), ["/bulk/7/", "/bulk/999/"], pause_s=0.01) as load:
                poller.start()
                start = time.monotonic()
                while time.monotonic() - start < DURATION_S:
                    # each change gives the moving Mapping another upstream and timeout:
                    # a new cluster and new routes every time
                    target = b if changes % 2 else a
                    spec = {"timeout_ms": 3000 + changes}
                    gw.write("moving.yaml", mapping("moving", target.service, "/m/", **spec))
                    changes += 1
                    time.sleep(max(0.0, start + changes / CHANGES_PER_S - time.monotonic()))
                poller.stop_event.set()
                poller.join()
            reconfigurations = gw.overview()["reconfigurations"]
        total = sum(poller.statuses.values())
        ok = poller.statuses[200]
        with capsys.disabled():
            print(
                f"\n[readiness churn] {changes} changes, {reconfigurations} builds, "
                f"{total} polls: {dict(poller.statuses)}; load {load.sent} requests, "
                f"{sum(load.failures.values())} failed"
            )
        assert changes >= CHANGES_PER_S * DURATION_S * 0.9
        assert reconfigurations >= changes * 0.5, "the churn did not reach the gateway"
        assert total >= 500, "the poller barely ran"
        assert ok / total >= 0.999, f"check_ready not 200 in {total - ok} of {total} polls"
        assert load.sent > 100 and not load.failures, dict(load.failures)
