"""What the runtime needs from a configuration source, whatever it reads.

A source hands out one `Snapshot` to start with, then a new one after each (debounced)
change. It may also hear back about the problems found in its objects, so it can report
them where its users look (the Kubernetes source turns them into Events).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

from legation.ir.errors import ConfigProblem
from legation.sources.snapshot import Snapshot


class SourceError(RuntimeError):
    """The source cannot work at all (e.g. missing permissions); the gateway should stop."""


class ConfigSource(Protocol):
    """A place configuration comes from: a folder, or a Kubernetes API server."""

    @property
    def description(self) -> str:
        """A short phrase for logs, e.g. `folder ./config`."""
        ...

    async def initial(self) -> Snapshot:
        """Everything the source holds now; waits until it has read it all once.

        Raises `SourceError` when the source can never work as configured.
        """
        ...

    def updates(self) -> AsyncIterator[Snapshot]:
        """A new snapshot after each batch of changes, forever."""
        ...

    def report(self, problems: Sequence[ConfigProblem]) -> None:
        """Hear about the problems of the latest build (must not block)."""
        ...

    def publish_limiter(self, files: Mapping[str, str]) -> None:
        """Hear about the rate limiter's documents of the latest build (file name →
        YAML), for a source that stores them somewhere (must not block)."""
        ...

    async def close(self) -> None:
        """Stop watching and release connections."""
        ...
