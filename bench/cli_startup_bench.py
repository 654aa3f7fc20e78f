"""CLI start-up benchmark: how long `legation --help` and `legation check` take to answer.

Runs the installed `legation` console script (the one next to this interpreter) in a
new process each time: `legation --help`, `legation check examples/quickstart/config`
and `legation run --help`, best of N wall times each, taken in turns so that a burst
of load on the shared machine hits every command alike. Baseline, same run:
`python -c pass` with the same interpreter (the cost of any Python process at all).

Targets (issue 14): `legation --help` <= 0.2 s, `legation check` of the quickstart
<= 0.5 s; `run --help` is shown without a target. What each command imports is
guarded without timing by tests/unit/cli/test_lazy_imports.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Report, base_parser, ms, python_version, ratio, say, table, times, verdict

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "quickstart" / "config"
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Case:
    """One command line to time, what it must exit with, and its target (None: none)."""

    label: str
    args: tuple[str, ...]
    target_s: float | None
    exit_code: int = 0


def legation_command() -> list[str]:
    """The `legation` console script of this interpreter's environment, as a user runs it."""
    script = Path(sys.executable).parent / "legation"
    if not script.exists():
        raise SystemExit(f"no console script at {script}: install legation in this environment")
    return [str(script)]


def cases() -> list[Case]:
    """The command lines measured, the baseline first."""
    legation = legation_command()
    return [
        Case("python -c pass (baseline)", (sys.executable, "-c", "pass"), None),
        Case("legation --help", (*legation, "--help"), 0.2),
        Case(
            "legation check examples/quickstart/config", (*legation, "check", str(QUICKSTART)), 0.5
        ),
        Case("legation run --help", (*legation, "run", "--help"), None),
    ]


def wall_time(case: Case) -> float:
    """Run the command once; its wall time in seconds (a wrong exit code breaks the run)."""
    start = time.perf_counter()
    done = subprocess.run(case.args, capture_output=True, timeout=TIMEOUT_S, check=False)
    took = time.perf_counter() - start
    if done.returncode != case.exit_code:
        raise RuntimeError(
            f"{case.label}: exit {done.returncode}, expected {case.exit_code}\n"
            f"{done.stderr.decode(errors='replace')}"
        )
    return took


def measure(all_cases: Sequence[Case], repeat: int) -> dict[str, float]:
    """Best wall time of each case over `repeat` rounds (after one warm-up round)."""
    for case in all_cases:
        wall_time(case)  # warm-up: bytecode caches and the page cache
    best = {case.label: float("inf") for case in all_cases}
    for _ in range(repeat):
        for case in all_cases:
            best[case.label] = min(best[case.label], wall_time(case))
    return best


def _print(all_cases: Sequence[Case], best: dict[str, float], report: Report) -> None:
    baseline = best[all_cases[0].label]
    rows = []
    for case in all_cases:
        value = best[case.label]
        target = f"<= {ms(case.target_s)}" if case.target_s is not None else ""
        result = verdict(value, case.target_s) if case.target_s is not None else ""
        rows.append((case.label, ms(value), times(ratio(value, baseline)), target, result))
        if case is not all_cases[0]:
            report.figure(
                case.label,
                ms(value),
                baseline=f"python -c pass {ms(baseline)}",
                ratio=times(ratio(value, baseline)),
                target=target,
                verdict=result,
            )
    say(table(rows, ("command", "best wall time", "/ python -c pass", "target", "verdict")))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; prints its figures."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "CLI start-up benchmark")
    parser.add_argument("--repeat", type=int, default=10, help="rounds (best of N)")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else max(1, args.repeat)
    say(f"CLI start-up benchmark (Python {python_version()}): best of {repeat} runs each")
    all_cases = cases()
    report = Report("cli_startup")
    _print(all_cases, measure(all_cases, repeat), report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
