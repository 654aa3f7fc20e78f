"""Ambassador configuration carried in `getambassador.io/config` annotations on Services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from legation.ir.errors import ConfigProblem
from legation.model.raw import RawObject
from legation.model.yamldocs import parse_documents

CONFIG_ANNOTATION = "getambassador.io/config"


def is_annotated_service(doc: Mapping[str, Any]) -> bool:
    """True for a Kubernetes Service object (annotated or not)."""
    return doc.get("kind") == "Service" and str(doc.get("apiVersion", "")) == "v1"


def expand_service(raw: RawObject) -> tuple[list[RawObject], list[ConfigProblem], str]:
    """The Ambassador documents inside a Service's annotation, and the Service's namespace.

    Each document keeps the file (or object) of the Service, the annotation name, its
    index, and a line as close as the YAML allows to where it was written.
    """
    metadata = raw.doc.get("metadata") or {}
    namespace = (
        str(metadata.get("namespace") or "default") if isinstance(metadata, dict) else "default"
    )
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    if not isinstance(annotations, dict) or CONFIG_ANNOTATION not in annotations:
        return [], [], namespace
    text = annotations[CONFIG_ANNOTATION]
    if not isinstance(text, str):
        problem = ConfigProblem(
            raw.source.at_line(raw.line_of(f"metadata.annotations.{CONFIG_ANNOTATION}")),
            None,
            f"annotation {CONFIG_ANNOTATION} must be a string holding YAML",
        )
        return [], [problem], namespace
    key_line = raw.field_lines.get(f"metadata.annotations.{CONFIG_ANNOTATION}")
    objects, problems = parse_documents(
        text, raw.source.location, annotation=CONFIG_ANNOTATION, line_offset=key_line or 0
    )
    return objects, problems, namespace
