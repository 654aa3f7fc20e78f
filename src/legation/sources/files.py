"""The folder reader: every YAML file under a directory, read safely and incrementally.

- Incremental: a file whose stamp (modification time, size, inode, change time) is
  unchanged keeps its RawObjects, so later stages reuse their cached work; so does a
  file rewritten with the same bytes.
- Stable: a file is read only once it has been unchanged for `settle_ms` (by its
  modification time, or by watching its stamp), and only if it did not change while it
  was read; until then its previous content stays. `next_check()` says when to look again.
- Last good content: a file that was good and becomes unreadable, too big, or fails to
  parse keeps its last good content (reported as such). A deleted file is gone.
- Bounded: files over `max_file_size` bytes are reported and never read; see
  `folder_walk` for symbolic links and `model.limits` for document shape.
- A missing folder keeps the last configuration, reported, until it is back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.model.yamldocs import parse_documents
from legation.sources.folder_walk import CONFIG_SUFFIXES, is_config_file, walk_config_files
from legation.sources.snapshot import Snapshot

__all__ = ["CONFIG_SUFFIXES", "DEFAULT_MAX_FILE_SIZE", "FolderReader", "is_config_file"]

DEFAULT_MAX_FILE_SIZE = 8 * 1024 * 1024
"""Files larger than this (bytes) are reported and not read (`--max-file-size`)."""

DEFAULT_SETTLE_MS = 30
"""A file must be unchanged this long before it is read (a writer may be mid-way)."""

PENDING_REPORT_S = 5.0
"""A file still changing after this long gets a notice saying it is not read yet."""

KEEPING = "; keeping its last good content"

Stamp = tuple[int, int, int, int]


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _rfc3339(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


@dataclass
class _Entry:
    stamp: Stamp | None
    """None for a failed read, so the next read tries again."""
    digest: bytes
    objects: list[RawObject]
    problems: list[ConfigProblem]
    good: bool = False
    """Read and parsed without any problem: becomes the file's last good content."""


@dataclass
class _Pending:
    stamp: Stamp
    first_seen: float
    since: float
    """When the file started to be pending (monotonic), for the long-change notice."""


class _Unstable(Exception):
    """The file changed while it was read."""


@dataclass
class FolderReader:
    """Reads a folder into Snapshots, re-parsing only the files that changed."""

    root: Path
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    settle_ms: int = 0
    """How long a file must be unchanged before it is read: 0 for one-shot reads
    (`legation check`), `DEFAULT_SETTLE_MS` for the watching source."""
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _last_good: dict[str, _Entry] = field(default_factory=dict)
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _next_check: float | None = None
    _last: Snapshot | None = None
    _folders: dict[str, _Pending] = field(default_factory=dict)
    _root_ident: tuple[int, int] | None = None
    changed: bool = True
    """Whether the last `read()` gave a snapshot different from the one before."""

    def next_check(self) -> float | None:
        """Seconds until a file that is still settling should be read again (None: none)."""
        if self._next_check is None:
            return None
        return max(0.0, self._next_check - time.monotonic())

    def read_settled(self, timeout: float = 2.0) -> Snapshot:
        """Read, waiting (at most `timeout` s) for files still being written to settle."""
        deadline = time.monotonic() + timeout
        snapshot = self.read()
        while (wait := self.next_check()) is not None and time.monotonic() < deadline:
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())) + 0.001)
            snapshot = self.read()
        return snapshot

    def read(self) -> Snapshot:
        """Read the folder now; unchanged files come from the cache."""
        self._next_check = None
        state = self._root_state()
        if state == "settling" and self._last is not None:
            snapshot = self._last  # back (or recreated), maybe being filled: keep what we had
        elif state == "missing":
            snapshot = self._missing_folder()
        else:
            snapshot = self._read_folder()
        previous = self._last
        self.changed = previous is None or not _same(previous, snapshot)
        if self.changed or previous is None:
            self._last = snapshot
            return snapshot
        return previous

    def _root_state(self) -> str:
        """`missing`; `settling` (back after a deletion, or recreated, and changed within
        `settle_ms`); or `ready`."""
        try:
            st = self.root.stat()
        except OSError:
            self._folders.pop("", None)
            return "missing"
        if not stat.S_ISDIR(st.st_mode):
            return "missing"
        ident = (st.st_dev, st.st_ino)
        was_missing = self._last is not None and any(
            p.message.startswith(_MISSING) for p in self._last.problems
        )
        replaced = self._root_ident is not None and ident != self._root_ident
        if (was_missing or replaced) and not self._settled(
            "", _stamp(st), st.st_mtime_ns, self._folders
        ):
            return "settling"
        self._root_ident = ident
        return "ready"

    def _missing_folder(self) -> Snapshot:
        objects = [o for e in self._entries.values() for o in e.objects]
        message = (
            f"{_MISSING} (deleted, or not mounted yet); keeping the last configuration "
            f"({len(self._entries)} file(s)) until it is back"
        )
        problems = [ConfigProblem(Source(str(self.root)), None, message)]
        return Snapshot(tuple(objects), tuple(problems), origin=f"folder {self.root}")

    def _read_folder(self) -> Snapshot:
        walk = walk_config_files(self.root)
        problems: list[ConfigProblem] = list(walk.problems)
        entries: dict[str, _Entry] = {}
        for display, path in walk.files:
            entry = self._read_file(display, path)
            if entry is not None:
                entries[display] = entry
        for folder in walk.unreadable:  # files under an unreadable folder keep their content
            prefix = folder + "/" if folder else ""
            for display, entry in self._entries.items():
                if display.startswith(prefix) and display not in entries:
                    entries[display] = entry
        vanished = set(self._entries) - {display for display, _ in walk.files}
        if vanished and not self._folders_settled(vanished):
            for display in vanished:  # their folder is still changing: remove them later
                entries.setdefault(display, self._entries[display])
        else:
            self._folders.clear()
        self._forget({display for display, _ in walk.files} | set(entries))
        self._entries = entries
        objects: list[RawObject] = []
        for display in sorted(entries):
            objects.extend(entries[display].objects)
            problems.extend(entries[display].problems)
        problems.extend(self._long_pending())
        return Snapshot(tuple(objects), tuple(problems), origin=f"folder {self.root}")

    def _forget(self, present: set[str]) -> None:
        """A deleted file's last good content and pending state go with it."""
        for table in (self._last_good, self._pending):
            for display in [d for d in table if d not in present]:
                del table[display]

    def _read_file(self, display: str, path: Path) -> _Entry | None:
        cached = self._entries.get(display)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._pending.pop(display, None)
            return None  # removed between listing and reading
        except OSError as exc:
            self._pending.pop(display, None)
            return self._failed(display, f"cannot read file: {exc.strerror or exc}")
        stamp = _stamp(st)
        if cached is not None and cached.stamp == stamp:
            return cached
        if st.st_size > self.max_file_size:
            self._pending.pop(display, None)
            return self._failed(display, self._too_big(st.st_size), stamp)
        if not self._settled(display, stamp, st.st_mtime_ns):
            return cached  # still being written: the previous content stays for now
        try:
            data = self._read_bytes(path, stamp)
        except _Unstable:
            self._wait(display, stamp, self.settle_ms / 1000)
            return cached
        except OSError as exc:
            self._pending.pop(display, None)
            return self._failed(display, f"cannot read file: {exc.strerror or exc}")
        self._pending.pop(display, None)
        if len(data) > self.max_file_size:
            return self._failed(display, self._too_big(len(data)), stamp)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if cached is not None and cached.digest == digest:
            return dataclasses.replace(cached, stamp=stamp)  # same bytes: same objects
        return self._parse(display, data, stamp, digest, _rfc3339(st.st_mtime_ns))

    def _parse(self, display: str, data: bytes, stamp: Stamp, digest: bytes, made: str) -> _Entry:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._failed(
                display, f"not UTF-8 text (byte {exc.start}: {exc.reason})", stamp, digest
            )
        try:
            objects, problems = parse_documents(text, display)
        except Exception as exc:  # isolation: a parser bug is this file's error only
            return self._failed(display, f"cannot parse file: {type(exc).__name__}", stamp, digest)
        objects = [dataclasses.replace(o, created=made) for o in objects]
        last = self._last_good.get(display)
        if problems and last is not None:
            kept = [dataclasses.replace(p, message=p.message + KEEPING) for p in problems]
            return _Entry(stamp, digest, last.objects, kept)
        entry = _Entry(stamp, digest, objects, problems, good=not problems)
        if entry.good:
            self._last_good[display] = entry
        return entry

    def _failed(
        self, display: str, message: str, stamp: Stamp | None = None, digest: bytes = b""
    ) -> _Entry:
        """The file cannot be used now: its last good content stays, if it had one."""
        last = self._last_good.get(display)
        objects = last.objects if last is not None else []
        text = message + (KEEPING if last is not None else "; skipped")
        return _Entry(stamp, digest, objects, [ConfigProblem(Source(display), None, text)])

    def _too_big(self, size: int) -> str:
        return (
            f"file is {size} bytes, over the limit of {self.max_file_size} bytes "
            "(--max-file-size); not read"
        )

    def _read_bytes(self, path: Path, stamp: Stamp) -> bytes:
        """At most `max_file_size + 1` bytes, from a file that did not change meanwhile."""
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise OSError(f"{path.name} is not a regular file")
            chunks, left = [], self.max_file_size + 1
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
            after = os.fstat(fd)
        finally:
            os.close(fd)
        if _stamp(before) != stamp or _stamp(after) != stamp:
            raise _Unstable
        return b"".join(chunks)

    def _settled(
        self, key: str, stamp: Stamp, mtime_ns: int, table: dict[str, _Pending] | None = None
    ) -> bool:
        """True once `stamp` is at least `settle_ms` old, by its mtime or by observation.

        `table` records when each stamp was first seen: files by default, folders apart.
        """
        table = self._pending if table is None else table
        now = time.monotonic()
        seen = table.get(key)
        if seen is None or seen.stamp != stamp:
            seen = table[key] = _Pending(stamp, now, seen.since if seen is not None else now)
        age = max((time.time_ns() - mtime_ns) / 1e9, now - seen.first_seen)
        wait = self.settle_ms / 1000 - age
        if wait <= 0:
            return True
        self._wake_in(wait)
        return False

    def _wait(self, display: str, stamp: Stamp, seconds: float) -> None:
        """Look at a file again after `seconds`, even if no change event comes."""
        if display not in self._pending:
            now = time.monotonic()
            self._pending[display] = _Pending(stamp, now, now)
        self._wake_in(seconds)

    def _wake_in(self, seconds: float) -> None:
        due = time.monotonic() + seconds
        self._next_check = due if self._next_check is None else min(self._next_check, due)

    def _folders_settled(self, vanished: set[str]) -> bool:
        """Whether the folders that lost files have settled: `rm -rf config && mkdir config
        && cp ...` must not be read half-way, even when the new folder reuses the inode."""
        settled = True
        for display in vanished:
            folder = (self.root / display).parent
            while folder != self.root and not folder.is_dir():
                folder = folder.parent
            try:
                st = folder.stat()
            except OSError:
                continue
            key = str(folder.relative_to(self.root)) if folder != self.root else ""
            settled &= self._settled(key, _stamp(st), st.st_mtime_ns, self._folders)
        return settled

    def _long_pending(self) -> list[ConfigProblem]:
        now = time.monotonic()
        return [
            ConfigProblem(
                Source(display),
                None,
                f"still changing after {PENDING_REPORT_S:.0f} s; read once it is unchanged "
                f"for {self.settle_ms} ms (its previous content, if any, is used until then)",
                severity=Severity.NOTICE,
            )
            for display, p in sorted(self._pending.items())
            if now - p.since > PENDING_REPORT_S
        ]


_MISSING = "configuration folder does not exist"


def _same(a: Snapshot, b: Snapshot) -> bool:
    """Same objects (by identity: the compile caches key on it) and the same problems."""
    return (
        len(a.objects) == len(b.objects)
        and all(x is y for x, y in zip(a.objects, b.objects, strict=True))
        and a.problems == b.problems
    )
