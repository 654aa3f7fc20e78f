"""Leader election against a scripted API (the real-apiserver test: tests/k8s/test_leader_election.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from legation.sources.kubernetes.client import KubeApiError, KubeConnectionError
from legation.sources.kubernetes.leader import LeaderElector, LeaderOptions
from tests.unit.sources.fake_kube import FakeKubeApi

OPTIONS = LeaderOptions("lead", "legation", "me", lease_s=8, renew_deadline_s=5, retry_s=1)
PATH = "/apis/coordination.k8s.io/v1/namespaces/legation/leases/lead"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lease(holder: str, renew: str = "t1", rv: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "lead", "namespace": "legation", "resourceVersion": rv},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 8,
            "renewTime": renew,
            "leaseTransitions": 3,
        },
    }


def elector(api: FakeKubeApi, clock: Clock, changes: list[bool] | None = None) -> LeaderElector:
    return LeaderElector(api, OPTIONS, on_change=(changes or []).append, clock=clock)


def test_first_replica_creates_the_lease_and_leads() -> None:
    api, clock, changes = FakeKubeApi(), Clock(), []
    e = LeaderElector(api, OPTIONS, on_change=changes.append, clock=clock)
    assert asyncio.run(e.try_once()) is True
    assert e.is_leader and changes == [True]
    path, body = api.posts[0]
    assert path == PATH.rsplit("/", 1)[0]
    assert body["spec"]["holderIdentity"] == "me"
    assert body["spec"]["leaseDurationSeconds"] == 8


def test_follower_waits_for_the_lease_to_expire_then_takes_it() -> None:
    api, clock = FakeKubeApi(), Clock()
    api.on_get(PATH, lease("other"))
    e = elector(api, clock)
    assert asyncio.run(e.try_once()) is False
    clock.now += 7.5  # renewTime never changed, but not yet lease_s since first seen
    assert asyncio.run(e.try_once()) is False
    assert not api.puts
    clock.now += 1.0
    assert asyncio.run(e.try_once()) is True
    path, body = api.puts[0]
    assert path == PATH
    assert body["metadata"]["resourceVersion"] == "1"  # conditional on what was read
    assert body["spec"]["holderIdentity"] == "me"
    assert body["spec"]["leaseTransitions"] == 4


def test_a_renewing_holder_keeps_the_lease() -> None:
    api, clock = FakeKubeApi(), Clock()
    renewals = iter(f"t{i}" for i in range(100))
    api.on_get(PATH, lambda _params: lease("other", next(renewals)))
    e = elector(api, clock)
    for _ in range(20):
        assert asyncio.run(e.try_once()) is False
        clock.now += 1.0
    assert not api.puts


def test_losing_the_race_is_following() -> None:
    api, clock = FakeKubeApi(), Clock()
    api.on_get(PATH, lease(""))  # released: anyone may take it

    def conflict(path: str, body: dict[str, Any]) -> dict[str, Any]:
        raise KubeApiError(409, "Conflict", "the object has been modified", "PUT", path)

    api.put_handler = conflict
    e = elector(api, clock)
    assert asyncio.run(e.try_once()) is False
    assert not e.is_leader


def test_leadership_ends_at_the_renew_deadline_when_renewals_fail() -> None:
    """No write after the renew deadline, even before anyone else could take over."""
    api, clock, changes = FakeKubeApi(), Clock(), []
    e = LeaderElector(api, OPTIONS, on_change=changes.append, clock=clock)
    assert asyncio.run(e.try_once()) is True
    api.on_get(PATH, KubeConnectionError("apiserver unreachable"))
    clock.now += 4.0
    assert asyncio.run(e.try_once()) is True  # within the deadline: still leading
    assert e.is_leader
    clock.now += 1.5
    assert not e.is_leader  # checked per write: false at once, between attempts too
    assert asyncio.run(e.try_once()) is False
    assert changes == [True, False]


def test_release_hands_the_lease_over() -> None:
    api, clock = FakeKubeApi(), Clock()
    e = elector(api, clock)
    asyncio.run(e.try_once())
    api.on_get(PATH, lease("me"))
    asyncio.run(e.release())
    body = api.puts[-1][1]
    assert body["spec"]["holderIdentity"] == ""
    assert not e.is_leader


def test_release_leaves_another_holder_alone() -> None:
    api, clock = FakeKubeApi(), Clock()
    api.on_get(PATH, lease("other"))
    asyncio.run(elector(api, clock).release())
    assert not api.puts
