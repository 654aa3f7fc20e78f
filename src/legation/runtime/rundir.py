"""The private run directory: Envoy's bootstrap and the xDS and admin Unix sockets.

Only this user may enter it (mode 0700), so only this user's processes can reach the
control channels that live in it. By default a fresh temporary directory per run,
removed at exit; ``--run-dir`` names a fixed one (created if missing, refused when
others could enter it).
"""

from __future__ import annotations

import contextlib
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

_PATH_MAX = 107
"""sun_path holds 108 bytes with the terminating NUL."""


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

    def __enter__(self) -> RunDir:
        if self._given is None:
            self.path = Path(tempfile.mkdtemp(prefix="legation-"))  # mkdtemp: mode 0700
        else:
            self.path = self._given.absolute()
            try:
                self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise RunDirError(f"cannot create run dir {self.path}: {exc}") from None
            check_private(self.path)
        if len(str(self.path / ADMIN_SOCKET)) > _PATH_MAX:
            raise RunDirError(f"run dir {self.path} is too long a path for a Unix socket")
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._given is None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        if not self.claimed:
            return
        for name in (XDS_SOCKET, ADMIN_SOCKET):
            with contextlib.suppress(OSError):
                (self.path / name).unlink()

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
