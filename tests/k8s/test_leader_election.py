"""Two replicas against a real API server: one leader writes status and Events; when it
dies (SIGKILL, no release) the other takes over within 15 s.

Both run as the `legation` ServiceAccount bound by deploy/rbac.yaml (ClusterRole plus the
leader-election Role), so this also shows those rules are enough. Each replica writes
under the field manager `legation-<POD_NAME>`, so an object's managedFields tell which
replica wrote its status; Events carry the replica in `reportingInstance`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.gateway import poll
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.gateway import KubeGateway
from tests.k8s.kube import CONTROLLER_NAMESPACE, REPO, Kube, controller_admin, mapping

TAKEOVER_LIMIT_S = 15.0


@pytest.fixture(scope="module")
def apiserver() -> Iterator[KubeApiServer]:
    """A private apiserver: the shipped CRDs (with their printer columns) are installed
    here, not over the session's test CRDs."""
    from tests.k8s.conftest import _ensure_assets

    with KubeApiServer(assets=_ensure_assets()) as server:
        yield server


@pytest.fixture(scope="module")
def kube(apiserver: KubeApiServer) -> Iterator[Kube]:
    """An admin client, with the shipped CRDs and deploy/rbac.yaml applied."""
    client = controller_admin(apiserver, REPO / "deploy" / "crds.yaml")
    yield client
    client.close()


def replica(kube: Kube, tmp: Any, name: str, lease: str, namespace: str) -> KubeGateway:
    """A legation replica named `name` (as POD_NAME would say), as the ServiceAccount."""
    kubeconfig = kube.account_kubeconfig(tmp / f"{name}.kubeconfig")
    args = ["--namespace", namespace, "--lease-name", lease]
    return KubeGateway(kubeconfig, args, env={"POD_NAME": name, "POD_NAMESPACE": "legation"})


def lease_holder(kube: Kube, lease: str) -> str | None:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{CONTROLLER_NAMESPACE}/leases/{lease}"
    r = kube.http.get(path)
    return str(r.json()["spec"].get("holderIdentity") or "") if r.status_code == 200 else None


def mapping_path(namespace: str, name: str) -> str:
    return f"/apis/getambassador.io/v3alpha1/namespaces/{namespace}/mappings/{name}"


def accepted(kube: Kube, namespace: str, name: str) -> dict[str, Any] | None:
    """The Accepted condition of a Mapping, read through the API (None: not written yet)."""
    obj = kube.get(mapping_path(namespace, name))
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Accepted"), None)


def status_writers(kube: Kube, namespace: str) -> set[str]:
    """Field managers that ever updated the status of a Mapping in `namespace`."""
    items = kube.get(f"/apis/getambassador.io/v3alpha1/namespaces/{namespace}/mappings")["items"]
    return {
        entry["manager"]
        for item in items
        for entry in item["metadata"].get("managedFields") or []
        if entry.get("subresource") == "status"
    }


def printed_columns(kube: Kube, namespace: str) -> dict[str, list[Any]]:
    """What `kubectl get mappings` prints (server-side Table): name → cells."""
    path = f"/apis/getambassador.io/v3alpha1/namespaces/{namespace}/mappings"
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io"
    table = kube.http.get(path, headers={"Accept": accept}).json()
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names[-3:] == ["State", "Reason", "Age"], names
    return {row["cells"][0]: row["cells"] for row in table["rows"]}


def condition_is(kube: Kube, namespace: str, name: str, status: str) -> dict[str, Any] | None:
    cond = accepted(kube, namespace, name)
    return cond if cond is not None and cond["status"] == status else None


def test_one_leader_writes_and_a_follower_takes_over(kube: Kube, tmp_path: Any) -> None:
    namespace = kube.namespace("leader")
    lease = f"leader-{uuid.uuid4().hex[:6]}"
    first = replica(kube, tmp_path, "replica-a", lease, namespace).start()
    second: KubeGateway | None = None
    try:
        poll(lambda: lease_holder(kube, lease) == "replica-a", timeout=15)
        second = replica(kube, tmp_path, "replica-b", lease, namespace).start()
        assert first.overview()["write_back"] == "leader"
        assert second.overview()["write_back"] == "follower"

        # an invalid Mapping: Accepted=False with the error, for `kubectl get -o yaml`
        kube.create(mapping("good", namespace, "/good/", "web:80"))
        kube.create(mapping("bad", namespace, "no-slash/", "web:80"))
        bad = poll(lambda: condition_is(kube, namespace, "bad", "False"), timeout=15)
        assert bad["reason"] == "InvalidConfiguration"
        assert bad["message"] == "field spec.prefix: prefix must start with '/'"
        assert bad["observedGeneration"] == 1
        good = poll(lambda: condition_is(kube, namespace, "good", "True"), timeout=15)
        assert good["reason"] == "Accepted"
        obj = kube.get(mapping_path(namespace, "bad"))
        assert obj["status"]["state"] == "Rejected"
        assert printed_columns(kube, namespace)["bad"][-3:-1] == [
            "Rejected",
            "InvalidConfiguration",
        ]

        # only the leader wrote status and Events, and nothing is rewritten when equal
        time.sleep(2.0)  # the follower had every chance to write
        assert status_writers(kube, namespace) == {"legation-replica-a"}
        events = kube.get(f"/api/v1/namespaces/{namespace}/events")["items"]
        assert events and {e["reportingInstance"] for e in events} == {"replica-a"}
        rv = kube.get(mapping_path(namespace, "bad"))["metadata"]["resourceVersion"]
        time.sleep(1.0)
        assert kube.get(mapping_path(namespace, "bad"))["metadata"]["resourceVersion"] == rv

        # the leader dies without releasing the Lease: the other one takes over
        assert first.proc is not None
        first.proc.kill()
        killed = time.monotonic()
        fixed = mapping("bad", namespace, "/bad/", "web:80")
        kube.apply(fixed)  # fixing it flips the condition, written by the new leader
        flipped = poll(
            lambda: condition_is(kube, namespace, "bad", "True"), timeout=TAKEOVER_LIMIT_S + 5
        )
        took = time.monotonic() - killed
        print(f"status written {took:.1f} s after the leader died")
        assert took < TAKEOVER_LIMIT_S, f"status written {took:.1f} s after the leader died"
        assert flipped["observedGeneration"] == 2
        assert lease_holder(kube, lease) == "replica-b"
        assert second.overview()["write_back"] == "leader"
        assert "legation-replica-b" in status_writers(kube, namespace)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_replica_that_stops_releases_the_lease(kube: Kube, tmp_path: Any) -> None:
    """SIGTERM (a rolling update): the Lease is given up, so the next leader needs no wait."""
    namespace = kube.namespace("release")
    lease = f"release-{uuid.uuid4().hex[:6]}"
    with replica(kube, tmp_path, "replica-c", lease, namespace) as gw:
        poll(lambda: lease_holder(kube, lease) == "replica-c", timeout=15)
        assert gw.stop() == 0
    assert lease_holder(kube, lease) == ""
