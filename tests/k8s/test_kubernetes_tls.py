"""Hosts with tlsSecret in Kubernetes mode: the Secret is read by name through the API
(with the shipped RBAC), served by SNI, and a replaced Secret is served within 1 s with
no listener change and no failed keep-alive request."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from tests.certs import Leaf, TestCA
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import poll
from tests.e2e.test_tls import listener_stats
from tests.e2e.tls import KeptSending, TlsClient, der_of
from tests.k8s.gateway import KubeGateway
from tests.k8s.kube import Kube, mapping, resource
from tests.k8s.test_kubernetes_source import gateway, kube, upstream  # noqa: F401  (fixtures)


def tls_secret(name: str, namespace: str, leaf: Leaf) -> dict[str, Any]:
    data = {"tls.crt": base64.b64encode(leaf.cert_pem).decode(),
            "tls.key": base64.b64encode(leaf.key_pem).decode()}  # fmt: skip
    return resource("Secret", name, namespace, "v1", type="kubernetes.io/tls", data=data)


def tls_host(name: str, namespace: str, hostname: str, secret: str) -> dict[str, Any]:
    spec = {"hostname": hostname, "tlsSecret": {"name": secret},
            "requestPolicy": {"insecure": {"action": "Route"}}}  # fmt: skip
    return resource("Host", name, namespace, spec=spec)


def test_host_tls_secret_is_served_and_rotated_without_listener_change(
    gateway: KubeGateway,  # noqa: F811
    kube: Kube,  # noqa: F811
    upstream: EchoUpstream,  # noqa: F811
) -> None:
    ns = kube.namespace("tls")
    ca = TestCA()
    first, second = ca.issue("k8s.example.com"), ca.issue("k8s.example.com")
    kube.apply(tls_secret("k8s-tls", ns, first))
    kube.apply(tls_secret("unreferenced", ns, ca.issue("never.example.com")))
    kube.apply(tls_host("k8s", ns, "k8s.example.com", "k8s-tls"))
    kube.apply(mapping("tls-m", ns, "/tls/", upstream.service, hostname="k8s.example.com"))

    def served() -> bytes | None:
        try:
            client = TlsClient(gateway.https_port, "k8s.example.com", ca)
        except OSError:
            return None
        try:
            status, _ = client.get("/tls/x")
            return client.certificate() if status == 200 else None
        finally:
            client.close()

    assert poll(served, timeout=20) == der_of(first)
    probe = TlsClient(gateway.https_port, "k8s.example.com", ca)
    assert probe.sans() == ["k8s.example.com"]
    probe.close()
    names = [c.get("name") for c in gateway.overview()["certificates"]]
    assert f"{ns}/k8s-tls" in names and f"{ns}/unreferenced" not in names

    before = listener_stats(gateway)
    kept = TlsClient(gateway.https_port, "k8s.example.com", ca)
    with KeptSending(kept, "/tls/keepalive") as sending:
        replaced = time.monotonic()
        kube.apply(tls_secret("k8s-tls", ns, second))

        def new_cert() -> float | None:
            return time.monotonic() if served() == der_of(second) else None

        seen = poll(new_cert, timeout=10, interval=0.01)
        time.sleep(0.3)
    failures, sent = sending.failures, sending.sent
    print(f"new certificate served {seen - replaced:.3f} s after the API write; {sent} requests")
    assert seen - replaced <= 1.0, f"new certificate after {seen - replaced:.2f} s"
    assert failures == [] and sent > 10
    after = listener_stats(gateway)
    for stat in ("listener_modified", "listener_added", "listener_removed"):
        assert after.get(stat) == before.get(stat), stat


def test_certificate_files_in_kubernetes_mode_are_read_and_watched(
    gateway: KubeGateway,  # noqa: F811
    kube: Kube,  # noqa: F811
    upstream: EchoUpstream,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A TLSContext's cert_chain_file / private_key_file are paths on the gateway's own
    disk (in a pod: a mounted volume); replacing them serves the new certificate."""
    from tests.e2e.test_tls_files import served_certificate, write_pair

    ns = kube.namespace("tlsfiles")
    ca = TestCA()
    first, second = ca.issue("files.k8s.example.com"), ca.issue("files.k8s.example.com")
    write_pair(tmp_path, first, "rename")
    files = {"cert_chain_file": str(tmp_path / "tls.crt"),
             "private_key_file": str(tmp_path / "tls.key")}  # fmt: skip
    for kind, spec in (
        ("TLSContext", files),
        ("Host", {"hostname": "files.k8s.example.com", "tlsContext": {"name": "files"}}),
    ):
        meta = {"name": "files", "namespace": ns}
        kube.apply({"apiVersion": "getambassador.io/v3alpha1", "kind": kind, "metadata": meta,
                    "spec": spec})  # fmt: skip
    kube.apply(mapping("files-m", ns, "/files/", upstream.service, hostname="*"))
    sni = "files.k8s.example.com"
    assert poll(lambda: served_certificate(gateway, sni, ca), timeout=20) == der_of(first)
    written = write_pair(tmp_path, second, "in place")
    seen = poll(
        lambda: (
            time.monotonic() if served_certificate(gateway, sni, ca) == der_of(second) else None
        ),
        timeout=10,
        interval=0.01,
    )
    assert seen - written <= 1.0, f"new certificate after {seen - written:.2f} s"
