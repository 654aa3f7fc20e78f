"""`make run`: start the quickstart's demo upstreams, then legation on its config folder.

Extra arguments are passed to `legation run` (e.g. `--http-port 9080`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
UPSTREAMS = {"httpbin": 9001, "quote": 9002}


def main() -> int:
    """Run until Ctrl-C; the upstreams stop with legation."""
    upstreams = [
        subprocess.Popen(
            [sys.executable, str(HERE / "upstream.py"), "--port", str(port), "--name", name]
        )
        for name, port in UPSTREAMS.items()
    ]
    legation = [
        sys.executable,
        "-m",
        "legation.cli.main",
        "run",
        "--config-dir",
        str(HERE / "config"),
    ]
    try:
        return subprocess.call(legation + sys.argv[1:])
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in upstreams:
            proc.terminate()
        for proc in upstreams:
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
