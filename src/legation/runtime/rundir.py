"""The private run directory: Envoy's bootstrap and the xDS and admin Unix sockets.

Only this user may enter it (mode 0700), so only this user's processes can reach the
control channels that live in it. By default a fresh temporary directory per run,
removed at exit; ``--run-dir`` names a fixed one (created if missing, refused when
others could enter it). A run holds an exclusive lock on ``lock`` inside: a second
instance on the same directory is refused, and the temporary directories of runs that
were killed (their lock free) are removed by the next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType

XDS_SOCKET = "xds.sock"
"""The xDS (ADS gRPC) server's socket, inside the run directory."""
ADMIN_SOCKET = "admin.sock"
"""Envoy's admin socket, inside the run directory."""

LOCK_FILE = "lock"
"""Held (flock) by the run using the directory; holds its pid."""
TEMPORARY_MARK = ".temporary"
"""Marks a directory legation created (not a ``--run-dir``): removed when stale."""

_PATH_MAX = 107
"""sun_path holds 108 bytes with the terminating NUL."""
_PREFIX = "legation-"

log = logging.getLogger("legation")


class RunDirError(Exception):
    """The run directory cannot be used; the message is one line."""


class RunDir:
    """A private directory for one run; a context manager."""

    def __init__(self, path: Path | None = None) -> None:
        """Use ``path`` (a fixed directory) or, when None, a new temporary one."""
        self._given = path
        self.path = Path()
        """The directory (valid inside the ``with`` block)."""
        self.claimed = False
        """Set once the sockets are ours (nobody else listened on them): only then are
        they removed at exit, never those of another instance using the same dir."""
        self._lock: int | None = None

    def __enter__(self) -> RunDir:
        if self._given is None:
            remove_stale_run_dirs(Path(tempfile.gettempdir()))
            self.path = Path(tempfile.mkdtemp(prefix=_PREFIX))  # mkdtemp: mode 0700
            (self.path / TEMPORARY_MARK).touch(mode=0o600)
            self._lock = _take_lock(self.path, fresh=True)
        else:
            self.path = self._given.absolute()
            try:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise RunDirError(f"cannot create run dir {self.path}: {exc}") from None
            check_private(self.path)
            self._lock = _take_lock(self.path, fresh=False)
        if len(str(self.path / ADMIN_SOCKET)) > _PATH_MAX:
            raise RunDirError(f"run dir {self.path} is too long a path for a Unix socket")
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._given is None:
            shutil.rmtree(self.path, ignore_errors=True)
        elif self.claimed:
            for name in (XDS_SOCKET, ADMIN_SOCKET):
                with contextlib.suppress(OSError):
                    (self.path / name).unlink()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    @property
    def xds_socket(self) -> Path:
        """Where the xDS server listens."""
        return self.path / XDS_SOCKET

    @property
    def admin_socket(self) -> Path:
        """Where Envoy's admin interface listens."""
        return self.path / ADMIN_SOCKET


def check_private(path: Path) -> None:
    """Raise RunDirError unless ``path`` is a directory owned by this user that no one
    else may enter (no group or other permission bits)."""
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise RunDirError(f"run dir {path} is not a directory")
    if info.st_uid != os.geteuid():
        raise RunDirError(f"run dir {path} is owned by uid {info.st_uid}, not by this user")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise RunDirError(f"run dir {path} has mode {mode:04o}; it must be 0700 (chmod 700)")


def _take_lock(path: Path, fresh: bool) -> int:
    """Lock ``path``'s lock file for this run (released when the process dies); raise
    RunDirError naming the holder when another run has it.

    In a ``fresh`` (temporary) directory the lock file is locked before it gets its
    name, so a run cleaning up stale directories never sees it unlocked.
    """
    lock = path / LOCK_FILE
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    pending = path / f".{LOCK_FILE}.{os.getpid()}"
    try:
        fd = os.open(pending if fresh else lock, flags, 0o600)
    except OSError as exc:
        raise RunDirError(f"cannot lock run dir {path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RunDirError(f"run dir {path} is in use by another legation (pid {holder})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    if fresh:
        os.rename(pending, lock)
    return fd


def remove_stale_run_dirs(parent: Path) -> list[Path]:
    """Remove this user's temporary run dirs in ``parent`` whose run is gone (their lock
    is free: the process that held it died, e.g. of SIGKILL); return them. A ``--run-dir``
    is never removed."""
    removed: list[Path] = []
    for path in parent.glob(_PREFIX + "*"):
        try:
            info = path.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                continue
            if not (path / TEMPORARY_MARK).exists():
                continue
            fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue  # not a run dir, or one whose run has not locked it yet
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(path, ignore_errors=True)  # while holding the lock
            removed.append(path)
        except BlockingIOError:
            continue  # a live run
        finally:
            os.close(fd)
    if removed:
        log.info(
            "removed %d run dir(s) of killed runs: %s", len(removed), ", ".join(map(str, removed))
        )
    return removed
