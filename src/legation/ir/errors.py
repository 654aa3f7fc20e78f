"""Configuration errors and notices, reported against the resource they belong to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from legation.ir.provenance import Source


class Severity(StrEnum):
    """How bad a problem is: an error drops the resource, a notice only informs."""

    ERROR = "error"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem with the input, attached to a resource and the place it was written."""

    source: Source
    """File and line (or Kubernetes object) the problem was found in."""
    resource: str | None
    """`Kind/name.namespace` of the resource, or None when no resource could be read."""
    message: str
    """What is wrong and, where possible, what was expected."""
    field: str | None = None
    """Dotted path of the offending field inside the resource, when known."""
    severity: Severity = Severity.ERROR

    def describe(self) -> str:
        """One line for terminals and logs."""
        where = self.source.describe()
        what = self.resource or "(no resource)"
        field = f" field {self.field}:" if self.field else ""
        return f"{where}: {self.severity.value}: {what}:{field} {self.message}"
