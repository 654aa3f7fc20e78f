"""Child processes that die with legation (Envoy, and the bundled Redis and limiter).

A child is started with a parent-death signal, so a legation killed with SIGKILL
leaves no orphan holding ports for the next run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal a process gets when its parent thread exits."""

_EXEC_WITH_PDEATHSIG = """\
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0):
    print("legation: a child runs without a parent-death signal", file=sys.stderr)
if os.getppid() != int(sys.argv[1]):  # the parent died before prctl took effect
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
""".replace("PR_SET_PDEATHSIG", str(_PR_SET_PDEATHSIG))
"""Run by a short-lived Python that then becomes the child (the signal survives exec)."""


def dying_with_us(argv: list[str]) -> list[str]:
    """``argv`` prefixed so that the process gets SIGKILL when legation's spawning thread
    exits (Linux ``PR_SET_PDEATHSIG``).

    A small exec wrapper rather than a ``preexec_fn``: forking a process that runs gRPC
    threads with a Python callback is fragile (and gRPC logs about it); the wrapper is
    spawned with vfork and costs a few milliseconds. The signal follows the parent
    *thread*, so children are spawned from the event loop's thread (the main thread
    under ``asyncio.run``), never from a worker thread.
    """
    if sys.platform != "linux":
        return argv
    return [sys.executable, "-I", "-S", "-c", _EXEC_WITH_PDEATHSIG, str(os.getpid()), *argv]


def stop_child(proc: subprocess.Popen[Any], timeout: float, *, ask: bool = True) -> int:
    """Stop a child and reap it: SIGTERM (unless `ask` is false: the caller already
    asked it to stop, e.g. by closing its stdin), then SIGKILL when it has not exited
    after `timeout` seconds. Returns its exit status."""
    if proc.poll() is None:
        if ask:
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
