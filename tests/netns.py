"""A test host in a network namespace of our own, joined to this one by a veth pair.

Tests that need an address other than loopback (a non-local client, Kubernetes pods
whose EndpointSlice address may not be loopback) use such a host: its traffic never
leaves this machine. Needs root and iproute2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


class NetnsUnavailable(RuntimeError):
    """The namespace or its veth pair could not be created (not root, no iproute2)."""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextmanager
def network_namespace(tag: str, host_addr: str, peer_addr: str) -> Iterator[str]:
    """A namespace named `legation-<tag>-<pid>`; `host_addr` here, `peer_addr` inside (/30).

    Yields the namespace's name (for `ip netns exec`); removes it afterwards.
    """
    if shutil.which("ip") is None:
        raise NetnsUnavailable("iproute2 (`ip`) is not installed")
    suffix = str(os.getpid() % 100000)
    name = f"legation-{tag}-{suffix}"
    host_if, peer_if = f"l{tag[:3]}{suffix}a", f"l{tag[:3]}{suffix}b"
    try:
        _ip("netns", "add", name)
    except (subprocess.CalledProcessError, OSError) as exc:
        raise NetnsUnavailable(f"cannot create a network namespace (needs root): {exc}") from exc
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", peer_if)
        _ip("link", "set", peer_if, "netns", name)
        _ip("addr", "add", f"{host_addr}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{peer_addr}/30", "dev", peer_if)
        _ip("netns", "exec", name, "ip", "link", "set", peer_if, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10)
        raise NetnsUnavailable(f"cannot set up the veth pair: {exc.stderr!r}") from exc
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10)
