"""`--namespace` and `--label-selector` against a real API server (in process, no Envoy)."""

from __future__ import annotations

from pathlib import Path

from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.kubernetes.source import KubernetesSource
from tests.k8s.apiserver import KubeApiServer
from tests.k8s.kube import Kube, mapping


async def test_namespace_and_label_selector_limit_what_is_read(
    apiserver: KubeApiServer, tmp_path: Path
) -> None:
    kube = Kube(apiserver)
    try:
        kube.install_crds()
        mine, other = kube.namespace("scope"), kube.namespace("scope-other")
        labelled = mapping("labelled", mine, "/l/", "127.0.0.1:1")
        labelled["metadata"]["labels"] = {"gateway": "blue"}
        kube.create(labelled)
        kube.create(mapping("unlabelled", mine, "/u/", "127.0.0.1:1"))
        kube.create({**mapping("elsewhere", other, "/e/", "127.0.0.1:1")})
        slice_ = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "web-1",
                "namespace": mine,
                "labels": {"kubernetes.io/service-name": "web"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["192.0.2.10"]}],  # data only: never contacted
            "ports": [{"name": "http", "port": 8080}],
        }
        kube.create(slice_)
        options = KubernetesOptions(
            kubeconfig=apiserver.write_kubeconfig(tmp_path / "kubeconfig"),
            namespace=mine,
            label_selector="gateway=blue",
            ingress_status_address=None,
        )
        source = KubernetesSource(options)
        try:
            snapshot = await source.initial()
        finally:
            await source.close()
        found = sorted((raw.doc["kind"], raw.source.location) for raw in snapshot.objects)
        # the selector applies to configuration, not to the EndpointSlices it refers to
        assert found == [("EndpointSlice", f"{mine}/web-1"), ("Mapping", f"{mine}/labelled")]
        assert f"namespace {mine}, labels gateway=blue" in snapshot.origin
    finally:
        kube.close()
