"""The folder source as a `ConfigSource`: a `FolderReader` plus `watch_folder`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from legation.ir.errors import ConfigProblem
from legation.sources.files import FolderReader, watch_folder
from legation.sources.snapshot import Snapshot


class FolderSource:
    """Reads a folder, then re-reads it (incrementally) after each batch of file changes."""

    def __init__(self, root: Path, debounce_ms: int = 50) -> None:
        """Watch `root` recursively; `debounce_ms` bounds how long changes are batched."""
        self.root = root
        self.debounce_ms = debounce_ms
        self.reader = FolderReader(root)

    @property
    def description(self) -> str:
        """`folder PATH`."""
        return f"folder {self.root}"

    async def initial(self) -> Snapshot:
        """The folder as it is now."""
        return self.reader.read()

    async def updates(self) -> AsyncIterator[Snapshot]:
        """The folder again after each batch of changes."""
        async for _changes in watch_folder(self.root, debounce_ms=self.debounce_ms):
            yield self.reader.read()

    def report(self, problems: Sequence[ConfigProblem]) -> None:
        """Files have nowhere to show problems: the runtime logs them."""

    async def close(self) -> None:
        """Nothing to release."""
