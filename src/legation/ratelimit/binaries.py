"""Locate the programs of the bundled limiter: envoyproxy/ratelimit and redis-server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

RATELIMIT_VERSION = "v1.4.1-0.20260122083618-3fb702589d36"
"""The envoyproxy/ratelimit module version `hack/go-tools.sh` builds (it has no tags)."""

RATELIMIT_ENV = "LEGATION_RATELIMIT_BIN"
REDIS_ENV = "LEGATION_REDIS_SERVER"


class ProgramNotFound(RuntimeError):
    """A program the bundled limiter needs is not installed; the message says how to get it."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def go_tools_dir() -> Path:
    """Where `hack/go-tools.sh` caches the Go programs it builds."""
    default = Path.home() / ".cache" / "legation" / "go-tools"
    return Path(os.environ.get("LEGATION_GO_TOOLS", default))


def find_ratelimit() -> Path:
    """The envoyproxy/ratelimit binary: ``$LEGATION_RATELIMIT_BIN``, else the cached build."""
    override = os.environ.get(RATELIMIT_ENV)
    if override:
        if not _executable(Path(override)):
            raise ProgramNotFound(f"{RATELIMIT_ENV}={override!r} is not an executable file")
        return Path(override)
    built = go_tools_dir() / f"ratelimit-{RATELIMIT_VERSION}"
    if _executable(built):
        return built
    raise ProgramNotFound(
        f"envoyproxy/ratelimit is not built ({built} is missing): run "
        f"`make ratelimit` (hack/go-tools.sh ratelimit), or set {RATELIMIT_ENV}"
    )


def find_redis_server() -> Path:
    """The redis-server binary: ``$LEGATION_REDIS_SERVER``, else the one on PATH."""
    override = os.environ.get(REDIS_ENV)
    if override:
        if not _executable(Path(override)):
            raise ProgramNotFound(f"{REDIS_ENV}={override!r} is not an executable file")
        return Path(override)
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    raise ProgramNotFound(
        "redis-server is not installed: `apt-get install redis-server` (Debian), "
        f"or set {REDIS_ENV}, or point the limiter at an existing Redis"
    )
