"""Smoke test: the real kube-apiserver stores and serves objects and enforces auth."""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.k8s.apiserver import KubeApiServer
from tests.k8s.conftest import UNPRIVILEGED_USER


def test_namespace_and_configmap_roundtrip(apiserver: KubeApiServer) -> None:
    """Create a namespace and a ConfigMap over HTTPS, then read the ConfigMap back."""
    ns = f"smoke-{uuid.uuid4().hex[:8]}"
    with apiserver.client() as api:
        r = api.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        )
        assert r.status_code == 201, r.text

        r = api.post(
            f"/api/v1/namespaces/{ns}/configmaps",
            json={
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "routes", "labels": {"app": "legation"}},
                "data": {"hello": "world"},
            },
        )
        assert r.status_code == 201, r.text
        created_rv = r.json()["metadata"]["resourceVersion"]

        r = api.get(f"/api/v1/namespaces/{ns}/configmaps/routes")
        assert r.status_code == 200, r.text
        cm = r.json()
        assert cm["data"] == {"hello": "world"}
        assert cm["metadata"]["labels"] == {"app": "legation"}
        assert cm["metadata"]["resourceVersion"] == created_rv

        r = api.get(f"/api/v1/namespaces/{ns}/configmaps", params={"labelSelector": "app=legation"})
        assert [item["metadata"]["name"] for item in r.json()["items"]] == ["routes"]

        r = api.get("/version")
        assert r.status_code == 200 and r.json()["major"] == "1", r.text


def test_bad_token_is_401_and_no_rights_is_403(apiserver: KubeApiServer) -> None:
    """An unknown token is not authenticated; a known user without RBAC rights is forbidden."""
    with apiserver.client(token="not-a-real-token") as api:
        r = api.get("/api/v1/namespaces")
        assert r.status_code == 401, r.text
    # anonymous auth is off: no token at all is 401 as well
    r = httpx.get(f"{apiserver.url}/api/v1/namespaces", verify=False)
    assert r.status_code == 401, r.text
    with apiserver.client(token=apiserver.token_for(UNPRIVILEGED_USER)) as api:
        r = api.get("/api/v1/namespaces")
        assert r.status_code == 403, r.text
        assert r.json()["reason"] == "Forbidden"


def test_kubeconfig_verifies_tls(apiserver: KubeApiServer, tmp_path: Path) -> None:
    """The kubeconfig embeds a CA that really verifies the apiserver's certificate."""
    path = apiserver.write_kubeconfig(tmp_path / "kubeconfig")
    config = json.loads(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == apiserver.url
    r = httpx.get(
        f"{apiserver.url}/readyz",
        headers=apiserver.auth_headers(),
        verify=ssl.create_default_context(cafile=str(apiserver.ca_file)),
    )
    assert r.status_code == 200 and r.text == "ok"


def test_compaction_expires_old_resource_versions(
    make_apiserver: Callable[..., KubeApiServer],
) -> None:
    """Without the watch cache, compacting etcd turns old resource versions into 410 Gone."""
    server = make_apiserver(watch_cache=False)
    with server.client() as api:
        api.post("/api/v1/namespaces", json={"metadata": {"name": "gone"}}).raise_for_status()
        r = api.post("/api/v1/namespaces/gone/configmaps", json={"metadata": {"name": "a"}})
        old_rv = r.json()["metadata"]["resourceVersion"]
        # Two writes: a watch from old_rv starts at old_rv + 1, which must be compacted away too
        # (see KubeApiServer.compact_etcd about the 500 otherwise).
        for v in ("2", "3"):
            body = {"metadata": {"name": "a"}, "data": {"v": v}}
            api.put("/api/v1/namespaces/gone/configmaps/a", json=body).raise_for_status()
        server.compact_etcd()

        params = {"resourceVersion": old_rv, "resourceVersionMatch": "Exact"}
        r = api.get("/api/v1/namespaces/gone/configmaps", params=params)
        assert r.status_code == 410, r.text
        assert r.json()["reason"] == "Expired"

        params = {"watch": "1", "resourceVersion": old_rv, "timeoutSeconds": "5"}
        with api.stream("GET", "/api/v1/namespaces/gone/configmaps", params=params) as stream:
            first = json.loads(next(stream.iter_lines()))
        assert first["type"] == "ERROR"
        assert first["object"]["code"] == 410, json.dumps(first)
