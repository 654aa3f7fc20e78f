"""`--rate-limiter-configmap`: legation keeps the limiter's documents, generated from
RateLimit resources, in a ConfigMap (for the envoyproxy/ratelimit Deployment of
deploy/ratelimit.yaml), against a real API server, as the `legation` ServiceAccount with
deploy/rbac.yaml and the Role of deploy/ratelimit.yaml. Hand-written keys stay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.gateway import poll
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.gateway import KubeGateway
from tests.k8s.kube import CONTROLLER_NAMESPACE, Kube, controller_admin

NAMESPACE = CONTROLLER_NAMESPACE
CONFIGMAP = "legation-ratelimit-config"
PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{CONFIGMAP}"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "ratelimit.yaml"


def _rate_limit(namespace: str, rate: int) -> dict[str, Any]:
    return {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "RateLimit",
        "metadata": {"name": "per-ip", "namespace": namespace},
        "spec": {
            "domain": "ambassador",
            "limits": [{"pattern": [{"remote_address": ""}], "rate": rate, "unit": "minute"}],
        },
    }


@pytest.fixture(scope="module")
def kube(apiserver: KubeApiServer) -> Iterator[Kube]:
    roles = [d for d in yaml.safe_load_all(DEPLOY.read_text()) if d and "rbac" in d["apiVersion"]]
    client = controller_admin(apiserver, extra=roles)
    yield client
    client.close()


def _data(kube: Kube) -> dict[str, str]:
    found: dict[str, str] = kube.get(PATH).get("data") or {}
    return found


def test_rate_limits_kept_in_the_configmap(kube: Kube, tmp_path: Path) -> None:
    hand = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
            "data": {"hand.yaml": "domain: hand\n"}}  # fmt: skip
    kube.apply(hand)
    kubeconfig = kube.account_kubeconfig(tmp_path / "kubeconfig")
    namespace = kube.namespace("limits")
    args = ["--rate-limiter-configmap", f"{NAMESPACE}/{CONFIGMAP}"]
    with KubeGateway(kubeconfig, args) as gw:
        kube.create(_rate_limit(namespace, 5))

        def written(rate: int) -> bool:
            text = _data(kube).get("domain-ambassador.yaml", "")
            return f"requests_per_unit: {rate}" in text

        poll(lambda: written(5), timeout=15.0)
        assert _data(kube)["hand.yaml"] == "domain: hand\n"
        document = yaml.safe_load(_data(kube)["domain-ambassador.yaml"])
        assert document["descriptors"] == [
            {"key": "remote_address", "rate_limit": {"unit": "minute", "requests_per_unit": 5}}
        ]
        kube.apply(_rate_limit(namespace, 9))
        poll(lambda: written(9), timeout=15.0)
        kube.delete(_rate_limit(namespace, 9))
        poll(lambda: "domain-ambassador.yaml" not in _data(kube), timeout=15.0)
        assert _data(kube) == {"hand.yaml": "domain: hand\n"}
        assert "cannot write the limiter ConfigMap" not in gw.log()
