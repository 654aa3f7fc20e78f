"""This machine's own names, for refusing upstreams that are the gateway itself.

`localhost` and loopback literals are recognized by the compiler; here we add what
only the host knows without a DNS lookup: its hostname and the names `/etc/hosts`
gives to loopback or unspecified addresses (e.g. Debian's `127.0.1.1 myhost`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from pathlib import Path

HOSTS_FILE = Path("/etc/hosts")


def _hosts_file_names(text: str) -> set[str]:
    """Names that a hosts file maps to loopback or unspecified addresses."""
    names: set[str] = set()
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) < 2:
            continue
        try:
            ip = ipaddress.ip_address(fields[0].partition("%")[0])
        except ValueError:
            continue
        if ip.is_loopback or ip.is_unspecified:
            names.update(name.lower() for name in fields[1:])
    return names


def local_names(hosts_file: Path = HOSTS_FILE) -> frozenset[str]:
    """The hostname, plus every name the hosts file points at this machine."""
    names = {socket.gethostname().lower()}
    # a hosts file is a few kB; a huge one is read only up to this bound
    with contextlib.suppress(OSError), hosts_file.open(errors="replace") as f:
        names |= _hosts_file_names(f.read(1 << 20))
    return frozenset(names)
