"""Small helpers for tests against the real API server: apply, delete, CRDs, tokens."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.k8s.apiserver import KubeApiServer

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
RBAC_YAML = REPO / "deploy" / "rbac.yaml"
CONTROLLER_NAMESPACE = "legation"
"""Where deploy/rbac.yaml puts the controller's ServiceAccount `legation`."""

_PLURALS = {
    "Namespace": "namespaces",
    "Service": "services",
    "Secret": "secrets",
    "ServiceAccount": "serviceaccounts",
    "EndpointSlice": "endpointslices",
    "Ingress": "ingresses",
    "IngressClass": "ingressclasses",
    "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings",
    "CustomResourceDefinition": "customresourcedefinitions",
    "FilterPolicy": "filterpolicies",
}
_CLUSTER_SCOPED = {
    "Namespace",
    "IngressClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
}


def collection_path(obj: dict[str, Any]) -> str:
    """The collection URL path an object is created in."""
    api, kind = obj["apiVersion"], obj["kind"]
    plural = _PLURALS.get(kind) or kind.lower() + "s"
    base = f"/api/{api}" if "/" not in api else f"/apis/{api}"
    namespace = obj.get("metadata", {}).get("namespace")
    if namespace and kind not in _CLUSTER_SCOPED:
        base += f"/namespaces/{namespace}"
    return f"{base}/{plural}"


def object_path(obj: dict[str, Any]) -> str:
    """The URL path of one object."""
    return f"{collection_path(obj)}/{obj['metadata']['name']}"


class Kube:
    """An admin client with apply / delete semantics, for test setup."""

    def __init__(self, server: KubeApiServer, token: str | None = None) -> None:
        self.server = server
        self.http = server.client(token=token)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create; fails on any error (409 included)."""
        r = self.http.post(collection_path(obj), json=obj)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create, or replace the existing object (keeping its resourceVersion check)."""
        r = self.http.post(collection_path(obj), json=obj)
        if r.status_code == 409:
            current = self.http.get(object_path(obj)).json()
            body = {
                **obj,
                "metadata": {
                    **obj["metadata"],
                    "resourceVersion": current["metadata"]["resourceVersion"],
                },
            }
            r = self.http.put(object_path(obj), json=body)
        assert r.status_code in (200, 201), r.text
        result: dict[str, Any] = r.json()
        return result

    def delete(self, obj: dict[str, Any]) -> None:
        """Delete (a missing object is fine)."""
        r = self.http.delete(object_path(obj))
        assert r.status_code in (200, 202, 404), r.text

    def get(self, path: str, **params: str) -> dict[str, Any]:
        """GET a path as JSON."""
        r = self.http.get(path, params=params)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def namespace(self, prefix: str) -> str:
        """A fresh namespace."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def install_crds(self, path: Path = FIXTURES / "crds.yaml", timeout: float = 30.0) -> None:
        """Create the CRDs in `path` (existing ones are kept) and wait until all are served."""
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for doc in docs:
            r = self.http.post(collection_path(doc), json=doc)
            assert r.status_code in (201, 409), r.text
        plurals = {d["spec"]["names"]["plural"] for d in docs}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get("/apis/getambassador.io/v3alpha1")
            if r.status_code == 200 and plurals <= {x["name"] for x in r.json()["resources"]}:
                return
            time.sleep(0.2)
        raise AssertionError(f"CRDs not served after {timeout} s")

    def service_account_token(self, namespace: str, name: str) -> str:
        """A token of a ServiceAccount (TokenRequest API)."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        }
        r = self.http.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", json=body
        )
        assert r.status_code == 201, r.text
        return str(r.json()["status"]["token"])

    def account_kubeconfig(
        self, path: Path, name: str = "legation", namespace: str = CONTROLLER_NAMESPACE
    ) -> Path:
        """Write at `path` a kubeconfig with a token of ServiceAccount `namespace/name`."""
        token = self.service_account_token(namespace, name)
        return self.server.write_kubeconfig(path, token=token)

    def close(self) -> None:
        self.http.close()


def controller_admin(
    server: KubeApiServer, crds: Path = FIXTURES / "crds.yaml", extra: Sequence[dict[str, Any]] = ()
) -> Kube:
    """An admin client, with the CRDs in `crds` installed and the controller's namespace,
    deploy/rbac.yaml and the `extra` documents applied (close it when done)."""
    client = Kube(server)
    client.install_crds(crds)
    client.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CONTROLLER_NAMESPACE}}
    )
    for doc in [*rbac_documents(), *extra]:
        client.apply(doc)
    return client


def rbac_documents() -> list[dict[str, Any]]:
    """deploy/rbac.yaml, parsed."""
    return [d for d in yaml.safe_load_all(RBAC_YAML.read_text()) if d]


def resource(
    kind: str,
    name: str,
    namespace: str,
    api_version: str = "getambassador.io/v3alpha1",
    **fields: Any,
) -> dict[str, Any]:
    """An object of `kind` named `namespace/name`, with `fields` (`spec=...`, `data=...`)."""
    metadata = {"name": name, "namespace": namespace}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def mapping(name: str, namespace: str, prefix: str, service: str, **spec: Any) -> dict[str, Any]:
    """A getambassador.io/v3alpha1 Mapping object."""
    return resource("Mapping", name, namespace, spec={"prefix": prefix, "service": service, **spec})


def fetch_json(client: httpx.Client, path: str) -> dict[str, Any]:
    """GET a path, as JSON."""
    result: dict[str, Any] = client.get(path).json()
    return result
