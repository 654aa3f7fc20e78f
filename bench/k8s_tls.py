"""The Kubernetes part of tls_bench: a Secret replaced through a real API server →
the new certificate served by `legation run --kubernetes`.

Needs kube-apiserver and etcd in ~/.cache/legation/k8s-assets (hack/k8s-assets.sh);
without them it says so and measures nothing.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import free_port, say
from k8s_apply_bench import KubeGateway

from tests.certs import Leaf, TestCA
from tests.k8s.apiserver import KubeApiServer, find_assets
from tests.k8s.kube import Kube, object_path

NAMESPACE = "bench-tls"
SNI = "k8s.bench.example.com"

Sampler = Callable[[int, TestCA, int, Callable[[Leaf], float], str], list[float]]


def secret(leaf: Leaf) -> dict[str, Any]:
    """The kubernetes.io/tls Secret `bench-tls` holding `leaf`."""
    data = {"tls.crt": base64.b64encode(leaf.cert_pem).decode(),
            "tls.key": base64.b64encode(leaf.key_pem).decode()}  # fmt: skip
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "bench-tls", "namespace": NAMESPACE}, "data": data}  # fmt: skip


def _setup(kube: Kube, leaf: Leaf) -> None:
    kube.install_crds()
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    kube.create(secret(leaf))
    host = {"apiVersion": "getambassador.io/v3alpha1", "kind": "Host",
            "metadata": {"name": "bench", "namespace": NAMESPACE},
            "spec": {"hostname": SNI, "tlsSecret": {"name": "bench-tls"}}}  # fmt: skip
    kube.create(host)


def kubernetes_rotation(
    ca: TestCA, samples: int, work: Path, sample: Sampler
) -> list[float] | None:
    """Seconds from each Secret replace (API answer) to the new certificate; None
    when the Kubernetes binaries are not there."""
    if find_assets() is None:
        say("Kubernetes Secret change: kube-apiserver/etcd not in the k8s-assets cache; skipped")
        return None
    with KubeApiServer() as server:
        kube = Kube(server)
        try:
            _setup(kube, ca.issue(SNI))
            kubeconfig = server.write_kubeconfig(work / "kubeconfig")
            https = free_port()
            args = ["--https-port", str(https)]
            with KubeGateway(kubeconfig, work / "legation-k8s.log", args) as gateway:
                gateway.wait_ready(120)

                def replace(leaf: Leaf) -> float:
                    body = secret(leaf)
                    path = object_path(body)
                    version = kube.http.get(path).json()["metadata"]["resourceVersion"]
                    body["metadata"]["resourceVersion"] = version
                    start = time.monotonic()  # from the PUT: the change is one API write
                    answer = kube.http.put(path, json=body)
                    if answer.status_code != 200:
                        raise RuntimeError(f"replacing the Secret: {answer.text}")
                    return start

                return sample(https, ca, samples, replace, SNI)
        finally:
            kube.close()
