"""Plain Kubernetes objects legation reads: EndpointSlice, Endpoints, Service ports,
Ingress, IngressClass and Secret.

They are not Ambassador resources: no `ambassador_id` (every gateway instance sees
them), and only the fields legation uses are validated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from legation.ir.errors import ConfigProblem
from legation.model.endpoints import EndpointsSpec
from legation.model.endpointslice import EndpointSliceSpec
from legation.model.ingress import (
    INGRESS_V1BETA1_VERSIONS,
    IngressClassSpec,
    IngressSpec,
    v1beta1_to_v1,
)
from legation.model.raw import RawObject
from legation.model.resource import Resource
from legation.model.secret import SecretSpec
from legation.model.service import ServiceSpec
from legation.model.versions import AUTOMATIC_AMBASSADOR_ID

KUBERNETES_MODELS: dict[tuple[str, str], tuple[type[BaseModel], str]] = {
    ("discovery.k8s.io/v1", "EndpointSlice"): (EndpointSliceSpec, ""),
    ("v1", "Endpoints"): (EndpointsSpec, ""),
    ("v1", "Service"): (ServiceSpec, "spec."),
    ("networking.k8s.io/v1", "Ingress"): (IngressSpec, "spec."),
    ("networking.k8s.io/v1", "IngressClass"): (IngressClassSpec, "spec."),
    ("networking.k8s.io/v1beta1", "IngressClass"): (IngressClassSpec, "spec."),
    **{(api, "Ingress"): (IngressSpec, "spec.") for api in INGRESS_V1BETA1_VERSIONS},
    ("v1", "Secret"): (SecretSpec, ""),
}
"""(apiVersion, kind) → the model of the fields read, and where they sit (`spec.`)."""

CONVERSIONS: dict[tuple[str, str], Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    (api, "Ingress"): v1beta1_to_v1 for api in INGRESS_V1BETA1_VERSIONS
}
"""Older versions whose spec is rewritten into the current shape before validation."""


def is_kubernetes_object(doc: Mapping[str, Any]) -> bool:
    """True for the Kubernetes kinds in `KUBERNETES_MODELS`."""
    return (str(doc.get("apiVersion", "")), str(doc.get("kind", ""))) in KUBERNETES_MODELS


def _body(doc: Mapping[str, Any], spec_path: str) -> dict[str, Any]:
    metadata = doc.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if spec_path:
        spec = doc.get("spec")
        return dict(spec) if isinstance(spec, dict) else {}
    body = {k: v for k, v in doc.items() if k not in {"apiVersion", "kind", "metadata"}}
    if isinstance(labels, dict):
        body["labels"] = {str(k): str(v) for k, v in labels.items()}
    return body


def parse_kubernetes_object(
    raw: RawObject, default_namespace: str = "default"
) -> tuple[Resource[Any] | None, list[ConfigProblem]]:
    """The Resource for one Kubernetes object (keyed `Kind/name.namespace`), or problems."""
    api, kind = str(raw.doc.get("apiVersion")), str(raw.doc.get("kind"))
    model, spec_path = KUBERNETES_MODELS[(api, kind)]
    metadata = raw.doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name, namespace = metadata.get("name"), metadata.get("namespace") or default_namespace
    if not isinstance(name, str) or not name or not isinstance(namespace, str):
        where = raw.source.at_line(raw.line_of("metadata.name"))
        return None, [ConfigProblem(where, None, f"{kind} without metadata.name; skipped")]
    key = f"{kind}/{name}.{namespace}"
    try:
        body = _body(raw.doc, spec_path)
        convert = CONVERSIONS.get((api, kind))
        spec = model.model_validate(convert(body) if convert else body)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            dotted = spec_path + ".".join(str(p) for p in err.get("loc", ()))
            message = f"{err.get('msg', 'invalid value')} (got {err.get('input')!r})"
            where = raw.source.at_line(raw.line_of(dotted))
            problems.append(ConfigProblem(where, key, message, field=dotted))
        return None, problems
    resource = Resource(
        kind=kind,
        name=name,
        namespace=namespace,
        api_version=api,
        ambassador_id=(AUTOMATIC_AMBASSADOR_ID,),
        spec=spec,
        raw=raw,
        spec_path=spec_path,
    )
    return resource, []
