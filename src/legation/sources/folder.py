"""The folder source as a `ConfigSource`: a `FolderReader` plus `watch_folder`.

Reading runs in a worker thread, so a big folder never holds up the event loop (probes,
diagnostics, xDS). A new snapshot is handed on only when something changed; a file still
being written is looked at again when it should have settled, without waiting for
another file event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path

from legation.ir.errors import ConfigProblem
from legation.sources.base import SourceError
from legation.sources.files import DEFAULT_MAX_FILE_SIZE, DEFAULT_SETTLE_MS, FolderReader
from legation.sources.folder_watch import watch_folder
from legation.sources.snapshot import Snapshot

log = logging.getLogger(__name__)

READ_RETRY_S = 1.0
"""After an unexpected failure reading the folder, how long until it is tried again."""


class FolderSource:
    """Reads a folder, then re-reads it (incrementally) after each batch of file changes."""

    def __init__(
        self, root: Path, debounce_ms: int = 50, max_file_size: int = DEFAULT_MAX_FILE_SIZE
    ) -> None:
        """Watch `root` recursively; `debounce_ms` bounds how long changes are batched;
        files over `max_file_size` bytes are reported and not read."""
        self.root = root
        self.debounce_ms = debounce_ms
        self.reader = FolderReader(root, max_file_size=max_file_size, settle_ms=DEFAULT_SETTLE_MS)
        self._watch: asyncio.Task[None] | None = None

    @property
    def description(self) -> str:
        """`folder PATH`."""
        return f"folder {self.root}"

    async def initial(self) -> Snapshot:
        """The folder as it is now (files being written are given a moment to settle)."""
        try:
            return await asyncio.to_thread(self.reader.read_settled)
        except Exception as exc:  # a bug in reading: say so, do not serve half a folder
            log.exception("reading %s failed", self.root)
            raise SourceError(f"cannot read the configuration folder {self.root}: {exc}") from exc

    async def updates(self) -> AsyncGenerator[Snapshot, None]:
        """The folder again after each batch of changes (only when something changed)."""
        wake = asyncio.Event()
        self._watch = asyncio.create_task(
            watch_folder(self.root, wake.set, debounce_ms=self.debounce_ms), name="folder-watch"
        )
        try:
            while True:
                delay = self.reader.next_check()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
                wake.clear()
                try:
                    snapshot = await asyncio.to_thread(self.reader.read)
                except Exception:  # a bug in reading must not end the watch
                    log.exception("reading %s failed; keeping the last configuration", self.root)
                    await asyncio.sleep(READ_RETRY_S)
                    wake.set()
                    continue
                if self.reader.changed:
                    yield snapshot
        finally:
            await self.close()

    def report(self, problems: Sequence[ConfigProblem]) -> None:
        """Files have nowhere to show problems: the runtime logs them."""

    def publish_limiter(self, files: Mapping[str, str]) -> None:
        """A folder stores no limiter documents (`--rate-limiter` writes its own)."""

    async def close(self) -> None:
        """Stop watching."""
        task, self._watch = self._watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
