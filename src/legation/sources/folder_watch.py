"""Watch a folder for changes, surviving the folder itself being deleted and recreated.

`watchfiles.awatch` goes silent for good once its root is removed. So the root's
identity (device, inode) is checked every `ROOT_POLL_S`: when it disappears or is
replaced, the watch is stopped, the caller is woken (to report the missing folder), the
root is polled for until it is back, and a new watch starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

ROOT_POLL_S = 0.1
"""How often the folder itself is checked for (it is one stat call)."""


def _identity(root: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(root)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


async def watch_folder(
    root: Path, wake: Callable[[], None], *, debounce_ms: int = 50, step_ms: int = 10
) -> None:
    """Call `wake()` after each batch of changes under `root`, forever (cancel to stop).

    Every change counts (a ConfigMap volume swaps a hidden `..data` link, not the files):
    the reader is incremental, so a wake-up with nothing changed costs only stat calls.
    `watchfiles` batches events: it waits `step_ms` for further changes and at most
    `debounce_ms` in all, so an editor's write-rename dance arrives as one change.
    """
    while True:
        ident = _identity(root)
        if ident is None:
            wake()
            while (ident := _identity(root)) is None:
                await asyncio.sleep(ROOT_POLL_S)
            log.info("configuration folder %s is back; watching it again", root)
        wake()  # anything written before the new watch started is read now
        await _watch_while_same(root, ident, wake, debounce_ms, step_ms)
        if _identity(root) is None:
            log.error("configuration folder %s disappeared; keeping the last configuration", root)


async def _watch_while_same(
    root: Path, ident: tuple[int, int], wake: Callable[[], None], debounce_ms: int, step_ms: int
) -> None:
    """Run one `awatch` on `root` until the root is gone or replaced."""
    from watchfiles import awatch

    stop = asyncio.Event()

    async def guard() -> None:
        while _identity(root) == ident:
            await asyncio.sleep(ROOT_POLL_S)
        stop.set()

    guard_task = asyncio.create_task(guard(), name="folder-root-guard")
    try:
        async for _changes in awatch(
            root,
            debounce=debounce_ms,
            step=step_ms,
            recursive=True,
            force_polling=False,
            stop_event=stop,
            rust_timeout=500,
            yield_on_timeout=False,
        ):
            wake()
    except Exception as exc:  # e.g. the root vanished as the watch started: start over
        log.debug("watch on %s ended: %s", root, exc)
        await asyncio.sleep(ROOT_POLL_S)
    finally:
        guard_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await guard_task
