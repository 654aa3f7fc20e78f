"""Claim the gateway's ports and sockets up front; name whoever holds one already.

A port conflict must be one clear line ("port 8877 (diagnostics) is in use by pid 42
(python -m legation.cli.main run ...)") and exit status 2, never a traceback or a
crash-looping Envoy. Owners are found through ``/proc`` (Linux): the listening
socket's inode in ``/proc/net/{tcp,tcp6,unix}``, then the process whose file
descriptors include it. Nothing here sets ``SO_REUSEPORT``: with it, a second instance
would silently share our ports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path

_LISTEN = "0A"
"""TCP state LISTEN in /proc/net/tcp."""
_CMDLINE_MAX = 160


class PortConflict(Exception):
    """A port or socket path the gateway needs is taken; the message is one line."""


def bind_tcp(host: str, port: int, role: str) -> socket.socket:
    """Bind and listen on ``host:port`` (no SO_REUSEPORT); raise PortConflict naming the
    owner when it is taken. The caller serves on (and closes) the socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR only skips TIME_WAIT leftovers; it never shares a live listener
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise PortConflict(_describe_tcp(host, port, role, exc)) from None
    sock.setblocking(False)
    return sock


def check_tcp_free(host: str, port: int, role: str) -> None:
    """Raise PortConflict when ``host:port`` cannot be bound (for ports another process,
    Envoy, binds later)."""
    bind_tcp(host, port, role).close()


def check_unix_free(path: Path, role: str) -> None:
    """Raise PortConflict when a live process listens on the Unix socket ``path``;
    remove a stale socket file left by a killed process."""
    if not path.exists() and not path.is_symlink():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # nobody listens: a leftover of a killed run
        return
    finally:
        probe.close()
    owner = describe_owner(unix_listener_inodes(path))
    raise PortConflict(f"socket {path} ({role}) is in use by {owner}")


def _describe_tcp(host: str, port: int, role: str, exc: OSError) -> str:
    """One line: which port, for what, and who holds it."""
    if exc.errno != errno.EADDRINUSE:
        return f"cannot bind {host}:{port} ({role}): {exc.strerror or exc}"
    owner = describe_owner(tcp_listener_inodes(port))
    return f"port {port} ({role}) is in use by {owner}"


def tcp_listener_inodes(port: int) -> set[int]:
    """Inodes of the sockets listening on TCP ``port`` (any address, IPv4 or IPv6)."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) < 10 or fields[3] != _LISTEN:
                    continue
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(int(fields[9]))
    return inodes


def unix_listener_inodes(path: Path) -> set[int]:
    """Inodes of the Unix sockets bound to ``path``."""
    inodes: set[int] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == str(path):
                inodes.add(int(fields[6]))
    return inodes


def socket_owners(inodes: set[int]) -> list[int]:
    """Pids (sorted) of the processes holding any of the socket ``inodes`` (those this
    user may inspect)."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    pids: list[int] = []
    if not wanted:
        return pids
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        pids.append(int(entry.name))
                        break
    return sorted(pids)


def describe_owner(inodes: set[int]) -> str:
    """Who holds the sockets, in words: a leftover legation Envoy is called one."""
    pids = socket_owners(inodes)
    if not pids:
        return "another process (not visible to this user)"
    pid = pids[0]
    cmdline = process_cmdline(pid)
    if _is_legation_run(cmdline):
        return f"another running legation (pid {pid}: {cmdline})"
    if not _is_legation_envoy(cmdline):
        return f"pid {pid} ({cmdline})"
    parent = parent_pid(pid)
    if parent is not None and _is_legation_run(process_cmdline(parent)):
        return f"the Envoy (pid {pid}) of another running legation, pid {parent}"
    return (
        f"a leftover Envoy of an earlier legation run (pid {pid}: {cmdline}); "
        f"stop it (kill {pid}) and start again"
    )


def parent_pid(pid: int) -> int | None:
    """The parent of ``pid`` (None if unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (2nd field) may hold spaces; it ends at the last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def process_cmdline(pid: int) -> str:
    """The command line of ``pid``, shortened to one readable line."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return text if len(text) <= _CMDLINE_MAX else text[: _CMDLINE_MAX - 3] + "..."


def _is_legation_run(cmdline: str) -> bool:
    """``legation run`` (installed script or ``python -m legation.cli.main run``)."""
    args = cmdline.split()
    named = any(
        a == "legation.cli.main" or a.endswith("/legation") or a == "legation" for a in args
    )
    return named and "run" in args


def _is_legation_envoy(cmdline: str) -> bool:
    """An Envoy started by legation runs with a bootstrap file named by legation."""
    return "envoy" in cmdline and "envoy-bootstrap.json" in cmdline
