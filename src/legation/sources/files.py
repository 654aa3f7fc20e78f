"""The folder source: read every YAML file under a directory, and watch it for changes.

Reading is incremental: a file whose size and modification time are unchanged keeps
its RawObjects from the previous read, so later stages can reuse their cached work.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from legation.ir.errors import ConfigProblem
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.model.yamldocs import parse_documents
from legation.sources.snapshot import Snapshot

log = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def is_config_file(path: Path) -> bool:
    """True for YAML/JSON files that are not hidden or editor scratch files."""
    name = path.name
    return name.endswith(CONFIG_SUFFIXES) and not name.startswith((".", "#", "~"))


@dataclass
class _Entry:
    stamp: tuple[int, int]
    objects: list[RawObject]
    problems: list[ConfigProblem]


@dataclass
class FolderReader:
    """Reads a folder into Snapshots, re-parsing only the files that changed."""

    root: Path
    _cache: dict[Path, _Entry] = field(default_factory=dict)

    def _files(self) -> list[Path]:
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            found.extend(Path(dirpath, f) for f in filenames if is_config_file(Path(f)))
        return sorted(found)

    def read(self) -> Snapshot:
        """Read the folder now; unchanged files come from the cache."""
        objects: list[RawObject] = []
        problems: list[ConfigProblem] = []
        seen: dict[Path, _Entry] = {}
        if not self.root.is_dir():
            problems.append(
                ConfigProblem(Source(str(self.root)), None, "configuration folder does not exist")
            )
        for path in self._files():
            entry = self._read_file(path)
            if entry is None:
                continue
            seen[path] = entry
            objects.extend(entry.objects)
            problems.extend(entry.problems)
        self._cache = seen
        return Snapshot(tuple(objects), tuple(problems), origin=f"folder {self.root}")

    def _read_file(self, path: Path) -> _Entry | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None  # removed between listing and reading
        stamp = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(path)
        if cached is not None and cached.stamp == stamp:
            return cached
        display = self._display(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problem = ConfigProblem(Source(display), None, f"cannot read file: {exc}")
            return _Entry(stamp, [], [problem])
        objects, problems = parse_documents(text, display)
        return _Entry(stamp, objects, problems)

    def _display(self, path: Path) -> str:
        """Paths are shown relative to the folder, as users wrote them."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


async def watch_folder(
    root: Path, *, debounce_ms: int = 50, step_ms: int = 10
) -> AsyncIterator[set[Path]]:
    """Yield the set of changed config paths whenever files under `root` change.

    `watchfiles` batches events: it waits `step_ms` for further changes and at most
    `debounce_ms` in all, so an editor's write-rename dance arrives as one change.
    """
    from watchfiles import awatch

    async for changes in awatch(
        root, debounce=debounce_ms, step=step_ms, recursive=True, force_polling=False
    ):
        paths = {Path(p) for _, p in changes if is_config_file(Path(p))}
        if paths:
            yield paths
        await asyncio.sleep(0)
