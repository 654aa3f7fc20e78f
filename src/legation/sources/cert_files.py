"""Certificate files named by the configuration: read at the edge, watched for changes.

TLSContexts (and the `tls` Module) may name PEM files on the gateway's disk instead of
Secrets. Compile never opens files: this module reads the named paths and hands their
bytes to compile in the snapshot (`Snapshot.files`), the way Secret objects are handed
in. `WatchedFiles` wraps any source (folder or Kubernetes) and polls the files' stamps
(modification time, size, inode, change time; symbolic links followed, so a Kubernetes
Secret volume's `..data` swap counts), so replacing a file — by an atomic rename or by
writing it in place — gives a new snapshot, and so one SDS push of the new certificate.
A certificate replaced before its key (or the other way round) keeps its old pair
until the other file follows (at most `HOLD_S`), so a rotation in two steps never
serves a mismatched pair (which would be an error and take the Hosts out).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import stat
import time
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from pathlib import Path

from legation.compile.certificates import pair_matches
from legation.ir.errors import ConfigProblem
from legation.model.raw import RawObject
from legation.sources.base import ConfigSource
from legation.sources.file_refs import all_file_references, certificate_pairs
from legation.sources.snapshot import Snapshot

log = logging.getLogger(__name__)

MAX_PEM_FILE_SIZE = 1024 * 1024
"""A certificate, key or CA file larger than this is refused, not read."""

POLL_S = 0.05
"""How often the named files' stamps are checked (a few stat calls)."""

SETTLE_S = 0.03
"""A changed file is read once its stamp has been still this long, so a writer that
replaces the certificate and then the key is seen as one change."""

SETTLE_MAX_S = 2.0
"""A file still changing after this long is read anyway."""

HOLD_S = 2.0
"""How long a certificate whose key no longer matches (one of the pair replaced, the
other not yet) keeps its previous pair before the mismatch is handed on (an error)."""

Stamp = tuple[int, int, int, int] | None
"""(mtime_ns, size, inode, ctime_ns), or None when the file cannot be stat'ed."""


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def read_pem_file(path: Path, max_size: int = MAX_PEM_FILE_SIZE) -> bytes | str:
    """The file's bytes, or why it cannot be used (never quoting its content)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return f"{path} is not a regular file"
        if st.st_size > max_size:
            return f"{path} is larger than {max_size} bytes"
        with open(path, "rb") as f:
            return f.read(max_size + 1)[:max_size]
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"


class CertificateFiles:
    """The files some objects name, with their content and the stamp it was read at."""

    def __init__(
        self, base: Path | None = None, max_size: int = MAX_PEM_FILE_SIZE, hold_s: float = HOLD_S
    ) -> None:
        """Relative paths are taken from `base` (the configuration folder), else from
        the working directory. A certificate and key pair that stops matching keeps its
        previous content for up to `hold_s` seconds (the other file is on its way)."""
        self.base = base
        self.max_size = max_size
        self.hold_s = hold_s
        self.contents: dict[str, bytes | str] = {}
        self._stamps: dict[str, Stamp] = {}
        self._pairs: set[tuple[str, str]] = set()
        self._held: dict[tuple[str, str], float] = {}

    def _resolve(self, path: str) -> Path:
        named = Path(path)
        return named if named.is_absolute() or self.base is None else self.base / named

    def update(self, objects: Iterable[RawObject]) -> dict[str, bytes | str]:
        """Read the files `objects` name now (unchanged ones from memory); forget others."""
        docs = [o.doc for o in objects]
        paths = sorted(all_file_references(docs))
        self._pairs = {p for d in docs for p in certificate_pairs(d)}
        self._stamps = {p: s for p, s in self._stamps.items() if p in paths}
        self.contents = {p: c for p, c in self.contents.items() if p in paths}
        old, old_stamps = dict(self.contents), dict(self._stamps)
        self._read([p for p in paths if p not in self.contents or self._changed(p)])
        self._hold_half_replaced(old, old_stamps)
        return dict(self.contents)

    def _changed(self, path: str) -> bool:
        return _stamp(self._resolve(path)) != self._stamps.get(path)

    def _read(self, paths: Sequence[str]) -> None:
        for path in paths:
            where = self._resolve(path)
            before = _stamp(where)
            content = read_pem_file(where, self.max_size)
            if before is not None and _stamp(where) != before and path in self.contents:
                continue  # written to while read: keep the old content, look again later
            self._stamps[path], self.contents[path] = before, content

    def stamps(self) -> dict[str, Stamp]:
        """The current stamp of every named file."""
        return {p: _stamp(self._resolve(p)) for p in self._stamps}

    def changed(self) -> bool:
        """Whether some named file's stamp differs from when it was read."""
        return any(self._changed(p) for p in self._stamps)

    def reread(self) -> bool:
        """Read the files whose stamp changed; True when some content changed."""
        old, old_stamps = dict(self.contents), dict(self._stamps)
        self._read([p for p in self._stamps if self._changed(p)])
        self._hold_half_replaced(old, old_stamps)
        return self.contents != old

    def _hold_half_replaced(
        self, old: dict[str, bytes | str], old_stamps: dict[str, Stamp]
    ) -> None:
        """A pair that matched and no longer does keeps its old content (and stamps, so
        it is looked at again) until the other file follows, or `hold_s` has passed."""
        now = time.monotonic()
        for pair in self._pairs:
            new_pair = [self.contents.get(p) for p in pair]
            old_pair = [old.get(p) for p in pair]
            if new_pair == old_pair or not _matching(*old_pair) or _matching(*new_pair):
                self._held.pop(pair, None)
                continue
            since = self._held.setdefault(pair, now)
            if now - since >= self.hold_s:  # not a rotation after all: compile reports it
                log.warning("certificate files %s and %s do not match", *pair)
                continue
            for path in pair:
                if path in old:
                    self.contents[path], self._stamps[path] = old[path], old_stamps.get(path)


def _matching(chain: bytes | str | None, key: bytes | str | None) -> bool:
    return isinstance(chain, bytes) and isinstance(key, bytes) and pair_matches(chain, key)


def read_named_files(
    objects: Iterable[RawObject], base: Path | None = None
) -> dict[str, bytes | str]:
    """Once, for `legation check` and `translate`: the files `objects` name."""
    return CertificateFiles(base).update(objects)


class WatchedFiles:
    """A `ConfigSource` that adds the files its objects name, and re-reads them when
    they change (a new snapshot with the same objects and the new file contents)."""

    def __init__(self, inner: ConfigSource, base: Path | None = None) -> None:
        """Wrap `inner`; relative paths are taken from `base`."""
        self.inner = inner
        self.files = CertificateFiles(base)
        self._last: Snapshot | None = None

    @property
    def description(self) -> str:
        """The wrapped source's description."""
        return self.inner.description

    async def _attach(self, snapshot: Snapshot) -> Snapshot:
        files = await asyncio.to_thread(self.files.update, snapshot.objects)
        self._last = dataclasses.replace(snapshot, files=files)
        return self._last

    async def initial(self) -> Snapshot:
        """The wrapped source's first snapshot, with the files it names."""
        return await self._attach(await self.inner.initial())

    async def _settle(self) -> None:
        """Wait until no named file has changed for `SETTLE_S` (at most `SETTLE_MAX_S`)."""
        deadline = time.monotonic() + SETTLE_MAX_S
        seen = self.files.stamps()
        while time.monotonic() < deadline:
            await asyncio.sleep(SETTLE_S)
            now = self.files.stamps()
            if now == seen:
                return
            seen = now

    async def updates(self) -> AsyncGenerator[Snapshot, None]:
        """The wrapped source's snapshots, and one more whenever a named file changes.

        The wrapped source is followed in a task that keeps only its latest snapshot,
        so changes that come while a build runs are still coalesced.
        """
        latest: list[Snapshot] = []
        wake = asyncio.Event()

        async def follow() -> None:
            async for snapshot in self.inner.updates():
                latest[:] = [snapshot]
                wake.set()

        task = asyncio.create_task(follow(), name="source-updates")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), POLL_S)
                wake.clear()
                if latest:
                    snapshot = latest.pop()
                    yield await self._attach(snapshot)
                elif task.done():
                    task.result()  # the wrapped source ended: so do we (or raise its error)
                    return
                elif self._last is not None and self.files.changed():
                    async for changed in self._file_change():
                        yield changed
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _file_change(self) -> AsyncGenerator[Snapshot, None]:
        """The last snapshot with the new file contents, once they have settled."""
        await self._settle()
        if self._last is not None and await asyncio.to_thread(self.files.reread):
            log.info("certificate file changed; rebuilding")
            self._last = dataclasses.replace(self._last, files=dict(self.files.contents))
            yield self._last

    def report(self, problems: Sequence[ConfigProblem]) -> None:
        """Passed on to the wrapped source."""
        self.inner.report(problems)

    def publish_limiter(self, files: Mapping[str, str]) -> None:
        """Passed on to the wrapped source (which may store the limiter's documents)."""
        self.inner.publish_limiter(files)

    def role(self) -> str:
        """The wrapped source's write-back role (`leader`, `follower`, `single`), or
        `none` for a source that writes nothing back (a folder)."""
        role = getattr(self.inner, "role", None)
        return str(role()) if callable(role) else "none"

    async def close(self) -> None:
        """Close the wrapped source."""
        await self.inner.close()
