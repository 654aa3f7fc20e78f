"""apiVersion handling: every accepted spelling normalised into one envelope.

Ambassador's configuration has two shapes:
- flat (`ambassador/v0`, `ambassador/v1`, `ambassador/v2`, `getambassador.io/v0|v1`, and every
  annotation document): `apiVersion`, `kind`, `name`, then the spec fields at top level;
- custom resources (`getambassador.io/v2`, `getambassador.io/v3alpha1`): `metadata`
  holds name and namespace, `spec` holds the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AMBASSADOR_GROUP = "getambassador.io"

ACCEPTED_VERSIONS: dict[str, str] = {
    "ambassador/v0": "v0",
    "ambassador/v1": "v1",
    "ambassador/v2": "v2",
    "getambassador.io/v0": "v0",
    "getambassador.io/v1": "v1",
    "getambassador.io/v2": "v2",
    "getambassador.io/v3alpha1": "v3alpha1",
}
"""Accepted `apiVersion` spellings and the version each one means."""

DEFAULT_AMBASSADOR_ID = "default"
AUTOMATIC_AMBASSADOR_ID = "_automatic_"


class EnvelopeError(ValueError):
    """The document's outer shape (apiVersion, kind, name) is wrong."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Envelope:
    """A resource's identity and raw spec, independent of how it was spelled."""

    api_version: str
    version: str
    """One of `v0`, `v1`, `v2`, `v3alpha1`."""
    kind: str
    name: str
    namespace: str
    spec: Mapping[str, Any]
    spec_path: str
    """Dotted prefix of spec fields in the original document (`spec.` or empty)."""
    ambassador_id: tuple[str, ...]

    @property
    def key(self) -> str:
        """Ambassador's resource key, `Kind/name.namespace`."""
        return f"{self.kind}/{self.name}.{self.namespace}"


def is_ambassador_document(doc: Mapping[str, Any]) -> bool:
    """True when the document claims one of the Ambassador API groups."""
    api = str(doc.get("apiVersion", ""))
    return api.startswith(("ambassador/", AMBASSADOR_GROUP + "/"))


def _ambassador_ids(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return (DEFAULT_AMBASSADOR_ID,)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value) or (DEFAULT_AMBASSADOR_ID,)
    raise EnvelopeError(field, "ambassador_id must be a string or a list of strings")


def open_envelope(doc: Mapping[str, Any], default_namespace: str) -> Envelope:
    """Read identity and spec from an Ambassador document of any accepted version."""
    api = doc.get("apiVersion")
    if not isinstance(api, str) or api not in ACCEPTED_VERSIONS:
        accepted = ", ".join(ACCEPTED_VERSIONS)
        raise EnvelopeError(
            "apiVersion", f"unsupported apiVersion {api!r}; expected one of {accepted}"
        )
    version = ACCEPTED_VERSIONS[api]
    kind = doc.get("kind")
    if not isinstance(kind, str) or not kind:
        raise EnvelopeError("kind", "kind is missing")
    if "spec" in doc or "metadata" in doc:
        metadata = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        if not isinstance(metadata, dict):
            raise EnvelopeError("metadata", "metadata must be a mapping")
        if not isinstance(spec, dict):
            raise EnvelopeError("spec", "spec must be a mapping")
        name = metadata.get("name")
        namespace = metadata.get("namespace") or default_namespace
        name_field, spec_path = "metadata.name", "spec."
        body = {k: v for k, v in spec.items() if k != "ambassador_id"}
        ids = _ambassador_ids(spec.get("ambassador_id"), "spec.ambassador_id")
    else:
        name = doc.get("name")
        namespace = doc.get("namespace") or default_namespace
        name_field, spec_path = "name", ""
        skip = {"apiVersion", "kind", "name", "namespace", "ambassador_id", "metadata_labels"}
        body = {k: v for k, v in doc.items() if k not in skip}
        ids = _ambassador_ids(doc.get("ambassador_id"), "ambassador_id")
    if not isinstance(name, str) or not name:
        raise EnvelopeError(name_field, "name is missing")
    if not isinstance(namespace, str):
        raise EnvelopeError("namespace", "namespace must be a string")
    return Envelope(api, version, kind, name, namespace, body, spec_path, ids)


def selects(ids: tuple[str, ...], ambassador_id: str) -> bool:
    """Whether a resource with these ambassador_ids belongs to this gateway instance."""
    return ambassador_id in ids or AUTOMATIC_AMBASSADOR_ID in ids
