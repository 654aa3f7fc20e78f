"""The bundled limiter for tests: real envoyproxy/ratelimit and redis-server on loopback.

The ratelimit binary is built once by ``hack/go-tools.sh`` (cached outside the
repository; `make test` builds it first). Without the programs the tests are skipped,
except when ``CI`` is set: there a missing program is a failure, not a silent skip.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from legation.ratelimit.binaries import ProgramNotFound, find_ratelimit, find_redis_server

GO_TOOLS = Path(__file__).resolve().parents[2] / "hack" / "go-tools.sh"


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_limiter_programs() -> None:
    """Make sure ratelimit (building it when Go is there) and redis-server exist."""
    try:
        find_ratelimit()
    except ProgramNotFound:
        done = subprocess.run(["bash", str(GO_TOOLS), "ratelimit"], check=False, timeout=900)
        if done.returncode != 0:
            _missing(f"could not build envoyproxy/ratelimit with {GO_TOOLS}")
    try:
        find_redis_server()
    except ProgramNotFound as exc:
        _missing(str(exc))
