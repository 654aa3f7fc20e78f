"""A rolling restart loses no request: SIGTERM one of two gateways behind a load balancer.

The load balancer is modelled the way Kubernetes behaves: it polls each gateway's
readiness probe (`/ambassador/v0/check_ready`) every 100 ms, as the kubelet / Endpoints /
kube-proxy chain would (faster than a real cluster, whose lag the drain time must cover),
and sends each request, on a new connection (as connection-level balancing does), to a
gateway that was ready at the last poll. The client never retries: a refused connection
or a reset is a failed request. So the gateway has to fail
readiness first and keep serving, new connections included, until the load balancer
has noticed; only then may it stop.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time

import httpx

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.load import Load

POLL_S = 0.1
DRAIN_S = 2.0


class ReadinessBalancer(threading.Thread):
    """Polls each gateway's readiness every `POLL_S`; `pick()` rotates over the ready ones."""

    def __init__(self, gateways: list[RunningGateway]) -> None:
        super().__init__(daemon=True)
        self.gateways = gateways
        self.ready = list(gateways)
        self.picked: dict[int, int] = {gw.http_port: 0 for gw in gateways}
        self.left_at: float | None = None
        """When the first gateway was taken out of rotation."""
        self._turn = itertools.count()
        self._done = threading.Event()

    def run(self) -> None:
        """Poll until stopped."""
        while not self._done.wait(POLL_S):
            ready = []
            for gw in self.gateways:
                try:
                    ok = gw.diag("/ambassador/v0/check_ready").status_code == 200
                except Exception:  # a stopped gateway: not ready
                    ok = False
                if ok:
                    ready.append(gw)
            if len(ready) < len(self.gateways) and self.left_at is None:
                self.left_at = time.monotonic()
            self.ready = ready

    def pick(self) -> str:
        """The base URL of the next ready gateway."""
        ready = self.ready
        gw = ready[next(self._turn) % len(ready)]
        self.picked[gw.http_port] += 1
        return gw.url("")

    def stop(self) -> None:
        """Stop polling."""
        self._done.set()
        self.join()


def test_sigterm_of_one_replica_loses_no_request() -> None:
    with EchoUpstream("app") as app:
        files = {"app.yaml": mapping("app", app.service, "/app/")}
        drain = ["--drain-seconds", str(DRAIN_S)]
        with RunningGateway(files, drain) as first, RunningGateway(files, drain) as second:
            balancer = ReadinessBalancer([first, second])
            balancer.start()
            try:
                load = Load(balancer.pick, ["/app/x"], pause_s=0.002, limit_s=30, keepalive=False)
                with load:
                    poll(lambda: min(balancer.picked.values()) >= 50, timeout=10)
                    assert first.proc is not None
                    first.proc.send_signal(signal.SIGTERM)
                    signalled = time.monotonic()
                    poll(lambda: balancer.left_at, timeout=5)
                    # out of rotation, but a straggler's new connection is still served
                    time.sleep(max(0.0, signalled + DRAIN_S / 2 - time.monotonic()))
                    assert first.diag("/ambassador/v0/check_ready").status_code == 503
                    assert httpx.get(first.url("/app/x"), timeout=5).status_code == 200
                    first.proc.wait(timeout=20)
                    stopped = time.monotonic()
                    after = load.sent
                    poll(lambda: load.sent >= after + 50, timeout=10)
            finally:
                balancer.stop()
            assert first.proc.returncode == 0
            assert load.failures == {}, (dict(load.failures), first.log()[-3000:])
            assert balancer.left_at is not None and balancer.left_at - signalled < 1.0
            # it went on serving for the drain time after readiness failed, then stopped
            assert stopped - signalled >= DRAIN_S
            assert second.get("/app/x").status_code == 200
