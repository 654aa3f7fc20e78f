"""The control channels between legation and its Envoy: xDS and Envoy's admin.

By default both are Unix sockets in the private run directory (mode 0700), so no
other user's process, and nothing over the network, can reach them; a TCP port on
127.0.0.1 is used for either only when asked (``--xds-port`` / ``--admin-port``).
Every xDS stream must also present this run's random token (put into Envoy's
bootstrap node metadata): any other client is refused, so only our own Envoy counts
for readiness and NACK quarantine.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from legation.envoy.bootstrap import build_bootstrap
from legation.envoy.process import AdminAddress
from legation.runtime.ports import check_tcp_free, check_unix_free
from legation.runtime.rundir import RunDir
from legation.xds.cache import XdsCache
from legation.xds.server import XdsServer
from legation.xds.types import NODE_TOKEN_KEY

LOOPBACK = "127.0.0.1"


class ControlChannels:
    """Where xDS and the admin interface listen, and the run's xDS token.

    Use :meth:`open` (may raise PortConflict or RunDirError) and :meth:`close`.
    """

    def __init__(self, admin_port: int | None, xds_port: int | None, run_dir: Path | None) -> None:
        """TCP on ``admin_port`` / ``xds_port`` when given, else Unix sockets in
        ``run_dir`` (None: a fresh temporary directory)."""
        self.admin_port = admin_port
        """Envoy admin's TCP port, or None for its Unix socket."""
        self.xds_port = xds_port
        """The xDS server's TCP port, or None for its Unix socket."""
        self.token = secrets.token_hex(16)
        """What our Envoy presents on every xDS stream."""
        self._run_dir = RunDir(run_dir)

    @property
    def path(self) -> Path:
        """The run directory (after :meth:`open`)."""
        return self._run_dir.path

    def open(self) -> None:
        """Create the run directory and check that nobody holds our channels."""
        self._run_dir.__enter__()
        try:
            self.check_admin_free()
            if self.xds_port is not None:
                check_tcp_free(LOOPBACK, self.xds_port, "xDS, --xds-port")
            else:
                check_unix_free(self._run_dir.xds_socket, "xDS")
        except Exception:
            self.close()
            raise
        self._run_dir.claimed = True

    def close(self) -> None:
        """Remove the sockets (and the directory, when it was temporary)."""
        self._run_dir.__exit__(None, None, None)

    @property
    def admin(self) -> AdminAddress:
        """Envoy's admin address: a loopback port or the socket path."""
        return self.admin_port if self.admin_port is not None else self._run_dir.admin_socket

    def check_admin_free(self) -> None:
        """Raise PortConflict when something (a leftover Envoy?) holds the admin address."""
        if self.admin_port is not None:
            check_tcp_free(LOOPBACK, self.admin_port, "Envoy admin, --admin-port")
        else:
            check_unix_free(self._run_dir.admin_socket, "Envoy admin")

    def cache(self) -> XdsCache:
        """An xDS cache that admits only streams presenting this run's token."""
        return XdsCache(token=self.token)

    def xds_server(self, cache: XdsCache) -> XdsServer:
        """The xDS server on the chosen channel (not started)."""
        if self.xds_port is not None:
            return XdsServer(cache, LOOPBACK, self.xds_port)
        return XdsServer(cache, unix_path=self._run_dir.xds_socket)

    def bootstrap(self, node_id: str, delta: bool, xds_port: int) -> Any:
        """Envoy's bootstrap: admin and xDS on our channels, the token in its metadata.

        ``xds_port`` is the xDS server's bound port (used when xDS is on TCP)."""
        if self.xds_port is not None:
            xds: dict[str, Any] = {"xds_host": LOOPBACK, "xds_port": xds_port}
        else:
            xds = {"xds_path": str(self._run_dir.xds_socket)}
        if self.admin_port is not None:
            admin: dict[str, Any] = {"admin_port": self.admin_port}
        else:
            admin = {"admin_path": str(self._run_dir.admin_socket)}
        return build_bootstrap(
            node_id=node_id,
            node_cluster="legation",
            delta=delta,
            metadata={NODE_TOKEN_KEY: self.token},
            **admin,
            **xds,
        )

    def describe(self) -> str:
        """Where the channels are, for the start-up log line."""
        admin = str(self.admin) if self.admin_port is None else f"127.0.0.1:{self.admin_port}"
        xds = self._run_dir.xds_socket if self.xds_port is None else f"127.0.0.1:{self.xds_port}"
        return f"Envoy admin on {admin}, xDS on {xds}"


def check_listeners_free(addresses: Iterable[tuple[str, int]], http_port: int) -> None:
    """Raise PortConflict for the first listener address (Envoy binds these) in use."""
    for host, port in sorted(set(addresses)):
        role = "HTTP listener, --http-port" if port == http_port else "Envoy listener"
        check_tcp_free(host, port, role)
