"""Kubernetes `Ingress` and `IngressClass` (networking.k8s.io/v1): the fields legation reads.

The older `extensions/v1beta1` and `networking.k8s.io/v1beta1` Ingress is converted
to the v1 shape first (`v1beta1_to_v1`): `backend` becomes `defaultBackend`,
`serviceName`/`servicePort` become `service.name`/`service.port`, and a path without
`pathType` is `ImplementationSpecific`.

Only the structure is validated here; what a value means (a known `pathType`, a
Service that exists, whether the Ingress is for this gateway) is decided by
`legation.compile.ingress`, so one bad path is reported without losing the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from legation.model.endpointslice import KubeModel

INGRESS_API_VERSION = "networking.k8s.io/v1"
CONTROLLER = "getambassador.io/ingress-controller"
"""`IngressClass.spec.controller` of Emissary-ingress, which legation answers to."""
CONTROLLERS = frozenset({CONTROLLER, "legation.io/ingress-controller"})
"""Every controller name legation implements (the same set the status writer uses)."""
DEFAULT_CLASS_NAME = "legation"
"""The IngressClass legation's manifests install."""
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
"""The pre-IngressClass way to pick a controller; legation takes `ambassador` and `legation`."""
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
"""On an IngressClass: `"true"` makes it the class of Ingresses that name none."""
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


class ServiceBackendPort(KubeModel):
    """A Service port, by number or by name (exactly one of them)."""

    name: str | None = None
    number: int | None = Field(default=None, ge=1, le=65535)


class IngressServiceBackend(KubeModel):
    """A Service in the Ingress's namespace, and one of its ports."""

    name: str = Field(min_length=1)
    port: ServiceBackendPort = Field(default_factory=ServiceBackendPort)


class IngressBackend(KubeModel):
    """Where matching requests go: a Service (a `resource` backend is not supported)."""

    service: IngressServiceBackend | None = None
    resource: dict[str, Any] | None = None


class HTTPIngressPath(KubeModel):
    """One path of a rule; `pathType` is checked by the compiler."""

    path: str | None = None
    pathType: str = "ImplementationSpecific"
    backend: IngressBackend


class HTTPIngressRuleValue(KubeModel):
    """The HTTP paths of a rule."""

    paths: list[HTTPIngressPath] = Field(default_factory=list)


class IngressRule(KubeModel):
    """A host (exact, or `*.` and one DNS label) and its paths; no host means every host."""

    host: str | None = None
    http: HTTPIngressRuleValue | None = None


class IngressTLS(KubeModel):
    """TLS for some hosts from a Secret (served by compile/ingress_tls.py)."""

    hosts: list[str] = Field(default_factory=list)
    secretName: str | None = None


class IngressSpec(KubeModel):
    """An Ingress's spec."""

    ingressClassName: str | None = None
    defaultBackend: IngressBackend | None = None
    rules: list[IngressRule] = Field(default_factory=list)
    tls: list[IngressTLS] = Field(default_factory=list)


class IngressClassSpec(KubeModel):
    """An IngressClass's spec: which controller implements the class."""

    controller: str | None = None
    parameters: dict[str, Any] | None = None


def annotations_of(doc: Mapping[str, Any]) -> dict[str, str]:
    """`metadata.annotations` of a Kubernetes object, as strings (empty when absent)."""
    metadata = doc.get("metadata")
    found = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(found, Mapping):
        return {}
    return {str(k): str(v) for k, v in found.items()}


INGRESS_V1BETA1_VERSIONS = ("extensions/v1beta1", "networking.k8s.io/v1beta1")
"""Older Ingress apiVersions, read by converting them to v1."""


def _v1beta1_backend(backend: Any) -> Any:
    """`{serviceName, servicePort}` → `{service: {name, port: {number | name}}}`."""
    if not isinstance(backend, Mapping) or "serviceName" not in backend:
        return backend
    port = backend.get("servicePort")
    out: dict[str, Any] = {"service": {"name": backend["serviceName"]}}
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        out["service"]["port"] = {"number": int(port)}
    elif isinstance(port, str):
        out["service"]["port"] = {"name": port}
    if "resource" in backend:
        out["resource"] = backend["resource"]
    return out


def v1beta1_to_v1(spec: Mapping[str, Any]) -> dict[str, Any]:
    """An `extensions/v1beta1` or `networking.k8s.io/v1beta1` Ingress spec in v1 shape."""
    out = {k: v for k, v in spec.items() if k != "backend"}
    if "backend" in spec:
        out["defaultBackend"] = _v1beta1_backend(spec["backend"])
    rules = []
    for rule in spec.get("rules") or []:
        http = rule.get("http") if isinstance(rule, Mapping) else None
        if not isinstance(http, Mapping):
            rules.append(rule)
            continue
        paths = [
            {**p, "backend": _v1beta1_backend(p.get("backend"))} if isinstance(p, Mapping) else p
            for p in http.get("paths") or []
        ]
        rules.append({**rule, "http": {**http, "paths": paths}})
    if rules:
        out["rules"] = rules
    return out
