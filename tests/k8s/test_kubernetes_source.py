"""`legation run --kubernetes` against a real API server, with a real Envoy and upstream.

The controller runs with the token of a ServiceAccount bound to deploy/rbac.yaml's
ClusterRole (least privilege), so every test here also shows that role is enough.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import poll
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.gateway import KubeGateway
from tests.k8s.kube import CONTROLLER_NAMESPACE, Kube, controller_admin, mapping, rbac_documents


@pytest.fixture(scope="module")
def kube(apiserver: KubeApiServer) -> Iterator[Kube]:
    """An admin client, with the Ambassador CRDs and deploy/rbac.yaml applied."""
    client = controller_admin(apiserver)
    yield client
    client.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[EchoUpstream]:
    with EchoUpstream("k8s-upstream") as up:
        yield up


@pytest.fixture(scope="module")
def gateway(kube: Kube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeGateway]:
    """legation, cluster-wide, as the `legation` ServiceAccount."""
    kubeconfig = kube.account_kubeconfig(tmp_path_factory.mktemp("sa") / "kubeconfig")
    with KubeGateway(kubeconfig) as gw:
        yield gw


@pytest.fixture
def namespace(kube: Kube) -> str:
    return kube.namespace("routes")


def annotated_service(name: str, namespace: str, config: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {
                "getambassador.io/config": yaml.safe_dump_all(config, explicit_start=True)
            },
        },
        "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


def test_mapping_create_update_delete_changes_the_route(
    gateway: KubeGateway, kube: Kube, namespace: str, upstream: EchoUpstream
) -> None:
    m = mapping("echo", namespace, "/k8s-a/", upstream.service)
    kube.create(m)
    gateway.wait_status("/k8s-a/hello", 200)
    assert gateway.get("/k8s-a/hello").json()["upstream"] == "k8s-upstream"

    kube.apply(mapping("echo", namespace, "/k8s-b/", upstream.service))
    gateway.wait_status("/k8s-b/hello", 200)
    gateway.wait_status("/k8s-a/hello", 404)

    kube.delete(m)
    gateway.wait_status("/k8s-b/hello", 404)

    # provenance: the route came from namespace/name
    log = gateway.log()
    assert "Traceback" not in log


def test_annotated_service_routes(
    gateway: KubeGateway, kube: Kube, namespace: str, upstream: EchoUpstream
) -> None:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "name": "annotated",
        "prefix": "/annotated/",
        "service": upstream.service,
    }
    svc = annotated_service("web", namespace, [doc])
    kube.create(svc)
    gateway.wait_status("/annotated/x", 200)
    kube.apply(annotated_service("web", namespace, [{**doc, "prefix": "/annotated2/"}]))
    gateway.wait_status("/annotated2/x", 200)
    gateway.wait_status("/annotated/x", 404)
    kube.delete(svc)
    gateway.wait_status("/annotated2/x", 404)


def test_v2_mapping_is_read_too(
    gateway: KubeGateway, kube: Kube, namespace: str, upstream: EchoUpstream
) -> None:
    m = {
        **mapping("old", namespace, "/k8s-v2/", upstream.service),
        "apiVersion": "getambassador.io/v2",
    }
    kube.create(m)
    gateway.wait_status("/k8s-v2/x", 200)
    kube.delete(m)
    gateway.wait_status("/k8s-v2/x", 404)


def events_about(kube: Kube, namespace: str, name: str) -> list[dict[str, Any]]:
    items = kube.get(
        f"/api/v1/namespaces/{namespace}/events", fieldSelector=f"involvedObject.name={name}"
    )["items"]
    return [e for e in items if e["reason"] == "InvalidConfiguration"]


def test_invalid_resource_gets_an_event_once(
    gateway: KubeGateway, kube: Kube, namespace: str, upstream: EchoUpstream
) -> None:
    bad = mapping("broken", namespace, "/k8s-bad/", upstream.service, timeout_ms="soon")
    kube.create(bad)
    events = poll(lambda: events_about(kube, namespace, "broken"), timeout=15)
    event = events[0]
    assert event["type"] == "Warning"
    assert event["involvedObject"]["kind"] == "Mapping"
    assert event["involvedObject"]["apiVersion"] == "getambassador.io/v3alpha1"
    assert "timeout_ms" in event["message"]
    # other valid changes reconfigure; the same error is not reported again
    good = mapping("fine", namespace, "/k8s-fine/", upstream.service)
    kube.create(good)
    gateway.wait_status("/k8s-fine/x", 200)
    assert len(events_about(kube, namespace, "broken")) == 1
    # a bad annotation document is reported against its Service
    svc = annotated_service(
        "svc-bad",
        namespace,
        [
            {
                "apiVersion": "getambassador.io/v3alpha1",
                "kind": "Mapping",
                "name": "nop",
                "service": "x",
            }
        ],
    )
    kube.create(svc)
    svc_events = poll(lambda: events_about(kube, namespace, "svc-bad"), timeout=15)
    assert svc_events[0]["involvedObject"]["kind"] == "Service"
    assert "annotation getambassador.io/config[0]" in svc_events[0]["message"]


def test_ingress_status_is_written(gateway: KubeGateway, kube: Kube, namespace: str) -> None:
    def ingress(name: str, cls: str) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "ingressClassName": cls,
                "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
            },
        }

    kube.create(ingress("ours", "legation"))
    kube.create(ingress("theirs", "nginx"))
    path = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses"

    def status(name: str) -> Any:
        return kube.get(f"{path}/{name}").get("status", {}).get("loadBalancer", {}).get("ingress")

    assert poll(lambda: status("ours"), timeout=15) == [{"ip": "127.0.0.1"}]
    time.sleep(0.5)
    assert not status("theirs")
    rv = kube.get(f"{path}/ours")["metadata"]["resourceVersion"]
    time.sleep(1.0)  # no further writes once it is right
    assert kube.get(f"{path}/ours")["metadata"]["resourceVersion"] == rv


def test_missing_verb_fails_loudly(kube: Kube, tmp_path: Path) -> None:
    """deploy/rbac.yaml without `watch` on mappings: legation exits non-zero, naming it."""
    role = next(d for d in rbac_documents() if d["kind"] == "ClusterRole")
    for rule in role["rules"]:
        if "mappings" in rule["resources"]:
            rule["verbs"] = ["list"]
    role["metadata"]["name"] = "legation-no-watch"
    kube.apply(role)
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "no-watch", "namespace": CONTROLLER_NAMESPACE},
        }
    )
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "legation-no-watch"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "legation-no-watch",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "no-watch", "namespace": CONTROLLER_NAMESPACE}
            ],
        }
    )
    kubeconfig = kube.account_kubeconfig(tmp_path / "kubeconfig", "no-watch")
    result = KubeGateway(kubeconfig).run_to_exit(timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "RBAC: missing permission: watch mappings.getambassador.io (all namespaces)" in output
    assert "list mappings" not in output  # only what is really missing is named
