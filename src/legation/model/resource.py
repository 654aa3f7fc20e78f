"""A parsed, validated resource ready for the compiler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.model.raw import RawObject

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True, slots=True, eq=False)
class Resource(Generic[SpecT]):
    """One Ambassador resource: identity, typed spec, and the raw document it came from."""

    kind: str
    name: str
    namespace: str
    api_version: str
    ambassador_id: tuple[str, ...]
    spec: SpecT
    raw: RawObject
    """The document as written (for the diagnostics' "input" view and field lines)."""
    spec_path: str
    """Dotted prefix of spec fields in `raw` (`spec.` for custom resources)."""

    key: str = ""
    """Ambassador's resource key, `Kind/name.namespace` (filled in when left empty)."""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.kind}/{self.name}.{self.namespace}")

    @property
    def source(self) -> Source:
        """Where the resource was written."""
        return self.raw.source

    def field_source(self, field: str) -> Source:
        """Where one spec field was written (falls back to the document)."""
        return self.source.at_line(self.raw.line_of(self.spec_path + field))

    def problem(self, field: str, message: str, *, notice: bool = False) -> ConfigProblem:
        """A problem with one field of this resource (relative to its spec), reported at
        the line the field was written on; an error unless `notice`."""
        return ConfigProblem(
            self.field_source(field),
            self.key,
            message,
            field=self.spec_path + field,
            severity=Severity.NOTICE if notice else Severity.ERROR,
        )
