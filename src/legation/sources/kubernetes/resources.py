"""The Kubernetes resource types legation watches, and how to address them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AMBASSADOR_GROUP = "getambassador.io"

AMBASSADOR_VERSIONS: tuple[str, ...] = ("v3alpha1", "v2")
"""Served versions of the Ambassador kinds, most preferred first (one is watched per kind)."""

AMBASSADOR_KINDS: dict[str, str] = {
    "Mapping": "mappings",
    "Module": "modules",
    "Host": "hosts",
    "Listener": "listeners",
    "TLSContext": "tlscontexts",
    "AuthService": "authservices",
    "RateLimitService": "ratelimitservices",
    "RateLimit": "ratelimits",
    "TCPMapping": "tcpmappings",
    "KubernetesServiceResolver": "kubernetesserviceresolvers",
    "KubernetesEndpointResolver": "kubernetesendpointresolvers",
    "ConsulResolver": "consulresolvers",
    "Filter": "filters",
    "FilterPolicy": "filterpolicies",
    "TracingService": "tracingservices",
    "LogService": "logservices",
}
"""Ambassador custom resource kinds legation watches, and their plural resource names."""


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One API resource: where it lives in the API and what its objects are called."""

    group: str
    """API group; empty for the core group."""
    version: str
    plural: str
    """The resource name in URLs (`services`, `mappings`)."""
    kind: str
    namespaced: bool = True
    selectable: bool = True
    """Whether `--label-selector` applies (not to objects that are only referenced)."""

    @property
    def api_version(self) -> str:
        """`v1` or `group/version`, as objects spell it."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """`plural.group` (`mappings.getambassador.io`, or `services` in the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (in `namespace`, or everywhere), or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


SERVICES = ResourceType("", "v1", "services", "Service")
SECRETS = ResourceType("", "v1", "secrets", "Secret", selectable=False)
ENDPOINT_SLICES = ResourceType(
    "discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", selectable=False
)
INGRESSES = ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress")
INGRESS_CLASSES = ResourceType(
    "networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False, selectable=False
)
EVENTS = ResourceType("", "v1", "events", "Event")

BUILTIN_TYPES: tuple[ResourceType, ...] = (
    SERVICES,
    ENDPOINT_SLICES,
    INGRESSES,
    INGRESS_CLASSES,
)
"""Built-in kinds watched whenever the Kubernetes source runs (Secrets only by name,
when referenced: see secret_watch.py)."""


def ambassador_type(kind: str, version: str) -> ResourceType:
    """The ResourceType of an Ambassador kind in one version."""
    return ResourceType(AMBASSADOR_GROUP, version, AMBASSADOR_KINDS[kind], kind)


def object_key(obj: dict[str, Any]) -> str:
    """`namespace/name` of an object (`name` alone when cluster-scoped)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"{namespace}/{name}" if namespace else str(name)


def resource_version(obj: dict[str, Any]) -> str:
    """`metadata.resourceVersion` of an object (empty when absent)."""
    meta = obj.get("metadata") or {}
    return str(meta.get("resourceVersion") or "")
