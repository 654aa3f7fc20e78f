"""`make run`: start the quickstart's demo upstreams, then legation on its config folder.

Extra arguments are passed to `legation run` (e.g. `--http-port 9080`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
UPSTREAMS = {"httpbin": 9001, "quote": 9002}


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM (a supervisor, a test) stops everything, as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    """Run until Ctrl-C or SIGTERM; legation and the upstreams stop with this script."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    upstreams = [
        subprocess.Popen(
            [sys.executable, str(HERE / "upstream.py"), "--port", str(port), "--name", name]
        )
        for name, port in UPSTREAMS.items()
    ]
    argv = [sys.executable, "-m", "legation.cli.main", "run", "--config-dir", str(HERE / "config")]
    children = list(upstreams)
    try:
        legation = subprocess.Popen(argv + sys.argv[1:])
        children.append(legation)
        return legation.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in children:
            if proc.poll() is None:
                proc.terminate()
        for proc in children:
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
