"""Hot reload under load: Mappings added, changed and removed through the folder while
a client sends requests continuously. No request to a route that was not removed may
fail, and the time from file write to the new route answering is reported.
"""

from __future__ import annotations

import statistics
import time

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping
from tests.e2e.load import Load

STABLE = 10
ROUNDS = 12


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
