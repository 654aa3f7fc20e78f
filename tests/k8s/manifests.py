"""Send manifests to a real API server the way `kubectl apply --server-side` does.

The resource path of each object comes from API discovery, so any kind works
(built-in or custom) without a table of plurals.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

FIELD_MANAGER = "legation-tests"


class Discovery:
    """kind → (plural, namespaced) per group/version, read from the API server on demand."""

    def __init__(self, api: httpx.Client) -> None:
        self.api = api
        self._cache: dict[str, dict[str, tuple[str, bool]]] = {}

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind; asks again once if it is not known yet (new CRD)."""
        for _ in range(2):
            if api_version not in self._cache:
                base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
                r = self.api.get(base)
                r.raise_for_status()
                self._cache[api_version] = {
                    res["kind"]: (res["name"], bool(res["namespaced"]))
                    for res in r.json()["resources"]
                    if "/" not in res["name"]
                }
            found = self._cache[api_version].get(kind)
            if found is not None:
                return found
            del self._cache[api_version]
        raise KeyError(f"{api_version} {kind} is not served")

    def path(self, doc: dict[str, Any], namespace: str | None = None) -> str:
        """The URL path of one object."""
        api_version, kind = doc["apiVersion"], doc["kind"]
        plural, namespaced = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        ns = doc["metadata"].get("namespace") or namespace or "default"
        where = f"/namespaces/{ns}" if namespaced else ""
        return f"{base}{where}/{plural}/{doc['metadata']['name']}"


def apply(
    api: httpx.Client,
    discovery: Discovery,
    doc: dict[str, Any],
    *,
    namespace: str | None = None,
    dry_run: bool = False,
) -> httpx.Response:
    """Server-side apply of one object (created or updated); `dry_run` stores nothing."""
    params = {"fieldManager": FIELD_MANAGER, "force": "true"}
    if dry_run:
        params["dryRun"] = "All"
    body = dict(doc)
    if namespace is not None and discovery.resource(doc["apiVersion"], doc["kind"])[1]:
        body["metadata"] = {**doc["metadata"], "namespace": namespace}
    return api.patch(
        discovery.path(body, namespace),
        params=params,
        json=body,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )


def create(
    api: httpx.Client, discovery: Discovery, doc: dict[str, Any], *, dry_run: bool = False
) -> httpx.Response:
    """A plain create (POST), as `kubectl create` does; `dry_run` stores nothing."""
    collection = discovery.path(doc).rsplit("/", 1)[0]
    return api.post(collection, params={"dryRun": "All"} if dry_run else {}, json=doc)


def wait_established(api: httpx.Client, crd_name: str, timeout: float = 30.0) -> None:
    """Wait until a CRD's `Established` condition is true (its kind is served)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd_name}")
        conditions = r.json().get("status", {}).get("conditions", []) if r.is_success else []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return
        time.sleep(0.1)
    raise AssertionError(f"CRD {crd_name} not established within {timeout} s")
