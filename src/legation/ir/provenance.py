"""Where a piece of configuration came from, and the key that names a resource."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """The origin of a resource: a file and line, or a Kubernetes object and annotation."""

    location: str
    """A file path, or `namespace/name` of a Kubernetes object."""
    line: int | None = None
    """1-based line of the document (or field) in `location`, when known."""
    annotation: str | None = None
    """The annotation the document was read from (e.g. `getambassador.io/config`)."""
    document: int | None = None
    """0-based index of the document inside a multi-document file or annotation."""

    def describe(self) -> str:
        """Human-readable form: `file.yaml:12`, `ns/svc annotation getambassador.io/config[1]`."""
        text = self.location
        if self.line is not None:
            text += f":{self.line}"
        if self.annotation is not None:
            text += f" annotation {self.annotation}"
            if self.document is not None:
                text += f"[{self.document}]"
        return text

    def at_line(self, line: int | None) -> Source:
        """The same origin, pointing at another line (used for field-level errors)."""
        if line is None:
            return self
        return Source(self.location, line, self.annotation, self.document)


@dataclass(frozen=True, slots=True, order=True)
class ResourceKey:
    """Names a resource the way Ambassador does: `Kind/name.namespace`."""

    kind: str
    name: str
    namespace: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}.{self.namespace}"
