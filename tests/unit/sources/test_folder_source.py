"""The folder source end to end (real files, real inotify watch): a folder that is
deleted and recreated is watched again, and a file still settling is read without a
further file event."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from legation.sources.folder import FolderSource
from legation.sources.snapshot import Snapshot


def mapping(name: str) -> str:
    return (
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        f"metadata: {{name: {name}}}\nspec: {{prefix: /{name}/, service: s}}\n"
    )


def names(snapshot: Snapshot) -> list[str]:
    return sorted(str(o.doc["metadata"]["name"]) for o in snapshot.objects)


async def next_matching(updates: AsyncIterator[Snapshot], want: list[str]) -> Snapshot:
    async def find() -> Snapshot:
        async for snapshot in updates:
            if names(snapshot) == want:
                return snapshot
        raise AssertionError("updates ended")

    return await asyncio.wait_for(find(), 10)


async def test_deleted_folder_is_reported_then_watched_again(tmp_path: Path) -> None:
    root = tmp_path / "config"
    root.mkdir()
    (root / "a.yaml").write_text(mapping("a"))
    source = FolderSource(root, debounce_ms=20)
    assert names(await source.initial()) == ["a"]
    updates = source.updates()
    try:
        await asyncio.sleep(0.2)  # let the watch start
        shutil.rmtree(root)
        missing = await asyncio.wait_for(anext(updates), 10)
        assert names(missing) == ["a"]  # the last configuration stays
        assert "configuration folder does not exist" in missing.problems[0].message
        root.mkdir()
        (root / "b.yaml").write_text(mapping("b"))
        back = await next_matching(updates, ["b"])
        assert back.problems == ()
        (root / "c.yaml").write_text(mapping("c"))  # the new watch sees new files
        await next_matching(updates, ["b", "c"])
    finally:
        await updates.aclose()
        await source.close()


async def test_a_settling_file_is_read_without_another_event(tmp_path: Path) -> None:
    root = tmp_path / "config"
    root.mkdir()
    source = FolderSource(root, debounce_ms=20)
    source.reader.settle_ms = 400  # longer than the watch's batching
    await source.initial()
    updates = source.updates()
    try:
        await asyncio.sleep(0.2)
        (root / "a.yaml").write_text(mapping("a"))  # one event, arriving before it settles
        loop = asyncio.get_running_loop()
        started = loop.time()
        await next_matching(updates, ["a"])
        assert loop.time() - started >= 0.3
    finally:
        await updates.aclose()
        await source.close()


async def test_a_bug_while_reading_does_not_end_the_watch(tmp_path: Path) -> None:
    """A fake failure (a reader bug cannot be produced on purpose otherwise)."""
    root = tmp_path / "config"
    root.mkdir()
    source = FolderSource(root, debounce_ms=20)
    await source.initial()
    real_read, calls = source.reader.read, []

    def failing_once() -> Snapshot:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("simulated reader bug")
        return real_read()

    source.reader.read = failing_once  # type: ignore[method-assign]
    updates = source.updates()
    try:
        await asyncio.sleep(0.2)
        (root / "a.yaml").write_text(mapping("a"))
        await next_matching(updates, ["a"])
        assert len(calls) >= 2
    finally:
        await updates.aclose()
        await source.close()
