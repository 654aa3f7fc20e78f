"""The machine's own names for the control-port check: hostname and /etc/hosts loopback."""

from __future__ import annotations

import socket
from pathlib import Path

from legation.runtime.local_names import local_names

HOSTS = """\
127.0.0.1   localhost
127.0.1.1   MyHost.example.org myhost   # Debian's entry for the hostname
::1         ip6-localhost ip6-loopback
fe80::1%lo0 linklocal
10.1.2.3    pod-name
0.0.0.0     blocked.example
not-an-ip   junk
"""


def test_names_of_loopback_and_unspecified_addresses(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS)
    names = local_names(hosts)
    assert {"localhost", "myhost.example.org", "myhost", "ip6-localhost", "ip6-loopback"} <= names
    assert "blocked.example" in names  # 0.0.0.0 reaches this machine too
    assert socket.gethostname().lower() in names
    assert not {"pod-name", "linklocal", "junk"} & names


def test_a_missing_hosts_file_leaves_the_hostname(tmp_path: Path) -> None:
    assert local_names(tmp_path / "absent") == {socket.gethostname().lower()}
