"""Raw documents: configuration exactly as written, with where it was written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from legation.ir.provenance import Source


@dataclass(frozen=True, slots=True, eq=False)
class RawObject:
    """One YAML document (or List item) exactly as written, with where it came from.

    Treat `doc` as read-only: the same RawObject is reused across snapshots while its
    file is unchanged, which is what makes recompiling after a small change cheap.
    """

    doc: Mapping[str, Any]
    source: Source
    field_lines: Mapping[str, int] = field(default_factory=dict)
    """1-based line of each field, keyed by dotted path (`spec.prefix`), when known."""
    created: str = ""
    """When the object appeared, as RFC 3339 UTC text (a file's modification time), when
    the source knows; orders duplicates on a fresh start (older first)."""

    def line_of(self, path: str) -> int | None:
        """The line of a dotted field path, or of its closest known parent."""
        while path:
            if path in self.field_lines:
                return self.field_lines[path]
            path = path.rpartition(".")[0]
        return self.source.line
