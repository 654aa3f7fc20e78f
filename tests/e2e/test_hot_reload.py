"""Hot reload under load: Mappings added, changed and removed through the folder while
a client sends requests continuously. No request to a route that was not removed may
fail, and the time from file write to the new route answering is reported.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping

STABLE = 10
ROUNDS = 12


class Load(threading.Thread):
    """Sends GETs round-robin over `paths` until stopped; counts non-200 answers."""

    def __init__(self, url: str, paths: list[str]) -> None:
        super().__init__(daemon=True)
        self.url, self.paths = url, paths
        self.sent = 0
        self.failures: Counter[str] = Counter()
        self.stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            deadline = time.monotonic() + 120  # bounded even if the test hangs
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                for path in self.paths:
                    try:
                        status = client.get(self.url + path).status_code
                    except httpx.HTTPError as exc:
                        status = 0
                        self.failures[f"{path}: {type(exc).__name__}"] += 1
                    self.sent += 1
                    if status != 200:
                        self.failures[f"{path}: {status}"] += 1


def test_hot_reload_under_load(capsys: pytest.CaptureFixture[str]) -> None:
    with EchoUpstream("a") as a, EchoUpstream("b") as b:
        files = {
            f"stable-{i}.yaml": mapping(f"stable-{i}", a.service, f"/stable/{i}/")
            for i in range(STABLE)
        }
        files["moving.yaml"] = mapping("moving", a.service, "/moving/")
        with RunningGateway(files) as gw:
            load = Load(gw.url(""), [f"/stable/{i}/" for i in range(STABLE)] + ["/moving/"])
            load.start()
            add_latency, remove_latency = [], []
            for r in range(ROUNDS):
                # add a Mapping and time write → first 200
                written = gw.write(f"new-{r}.yaml", mapping(f"new-{r}", b.service, f"/new/{r}/"))
                add_latency.append(gw.wait_status(f"/new/{r}/", 200) - written)
                # change a Mapping that stays: flip its upstream (a new cluster each time)
                target = b if r % 2 == 0 else a
                gw.write(
                    "moving.yaml",
                    mapping("moving", target.service, "/moving/", timeout_ms=4000 + r),
                )
                # change a stable Mapping's settings without changing its match
                gw.write(
                    f"stable-{r % STABLE}.yaml",
                    mapping(
                        f"stable-{r % STABLE}",
                        a.service,
                        f"/stable/{r % STABLE}/",
                        timeout_ms=5000 + r,
                    ),
                )
                # remove the previous round's new Mapping
                if r > 0:
                    removed = gw.remove(f"new-{r - 1}.yaml")
                    remove_latency.append(gw.wait_status(f"/new/{r - 1}/", 404) - removed)
                time.sleep(0.25)  # let the load run across each reconfiguration
            gw.wait_status("/moving/", 200)
            time.sleep(0.3)
            load.stop_event.set()
            load.join()
            assert gw.proc is not None and gw.proc.poll() is None
        assert load.sent > 200, "the load generator barely ran"
        assert not load.failures, f"requests to kept routes failed: {dict(load.failures)}"
        assert gw.stop() == 0
    ms = sorted(x * 1000 for x in add_latency)
    with capsys.disabled():
        print(
            f"\n[hot reload] {load.sent} requests, 0 failed; write→route live: "
            f"p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms; "
            f"delete→404 p50 {statistics.median(remove_latency) * 1000:.0f} ms"
        )
