"""Run every benchmark (compile, memory, propagation) and print a summary table.

Each benchmark runs in its own process, one after another (the machine is small and
shared), with its output shown as it comes. Exits 0 unless a benchmark broke; a
missed target is reported, not treated as a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Figure, base_parser, say, table

HERE = Path(__file__).resolve().parent
BENCHMARKS: tuple[str, ...] = (
    "compile_bench.py",
    "memory_bench.py",
    "propagation_bench.py",
    "dataplane_bench.py",
    "probe_bench.py",
    "cli_startup_bench.py",
    "tls_bench.py",
    "auth_bench.py",
    "jwt_bench.py",
    "ratelimit_bench.py",
    "tracing_bench.py",
)
TIMEOUT_S = 600.0


def _run(script: str, quick: bool, summary: Path) -> tuple[int, float]:
    """Run one benchmark script; returns (exit code, wall seconds)."""
    args = [sys.executable, str(HERE / script), "--summary-json", str(summary)]
    if quick:
        args.append("--quick")
    start = time.perf_counter()
    try:
        code = subprocess.run(args, timeout=TIMEOUT_S, check=False).returncode
    except subprocess.TimeoutExpired:
        say(f"{script}: timed out after {TIMEOUT_S:.0f} s")
        code = -1
    return code, time.perf_counter() - start


def _figures(summary: Path) -> list[Figure]:
    if not summary.exists():
        return []
    return [Figure(**item) for item in json.loads(summary.read_text())]


def main(argv: Sequence[str] | None = None) -> int:
    """Run all benchmarks; 1 if any of them broke, else 0."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "all benchmarks")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    broken: list[str] = []
    durations: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="legation-bench-") as tmp:
        for script in BENCHMARKS:
            say(f"\n##### {script}{' --quick' if args.quick else ''}")
            summary = Path(tmp) / f"{script}.json"
            code, seconds = _run(script, args.quick, summary)
            durations.append((script, f"{seconds:.1f} s", "ok" if code == 0 else f"BROKE ({code})"))
            if code != 0:
                broken.append(script)
            figures.extend(_figures(summary))
    say("\n##### summary")
    say(
        table(
            [
                (f.benchmark, f.name, f.value, f.baseline, f.ratio, f.target, f.verdict)
                for f in figures
            ],
            ("benchmark", "figure", "value", "baseline", "ratio", "target", "verdict"),
        )
    )
    say("")
    say(table(durations, ("benchmark", "wall time", "status")))
    misses = sum(1 for f in figures if f.verdict.startswith("MISS"))
    passes = sum(1 for f in figures if f.verdict == "PASS")
    say(f"\ntargets: {passes} PASS, {misses} MISS (goals, not failures)")
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps([f.__dict__ for f in figures], indent=1))
    if broken:
        say(f"broken: {', '.join(broken)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
