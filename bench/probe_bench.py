"""Probe benchmark: do the probes answer while legation builds 10,000 Mappings cold?

A real `legation run` starts on a folder of N generated Mappings (default 10,000, in
files of 100). From the moment the diagnostics port accepts connections until
`check_ready` answers 200, a prober sends `check_alive` every 50 ms on a new connection
each time (as a kubelet does) and records how long each answer took; a request that
fails after the port was up counts as a failure. The cold build (read, parse, compile,
translate) runs then, so this is what the kubelet sees during a start-up.

Baseline, same run: the same probe on the idle, ready gateway. Figures: the slowest
probe during the build, p99, the ratio p99 during the build / p99 idle, and how long
the start took. Target: every probe answered within 1 s (issue 8).
"""

from __future__ import annotations

import http.client
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Report,
    base_parser,
    generate_mappings,
    ms,
    percentile,
    python_version,
    ratio,
    say,
    table,
    times,
    verdict,
    write_config_files,
)
from _gateway import Gateway

TARGET_MAX_S = 1.0
INTERVAL_S = 0.05
START_TIMEOUT_S = 120.0
IDLE_PROBES = 100


@dataclass
class ProbeRun:
    """Probe latencies from port-up to ready, and on the idle gateway afterwards."""

    mappings: int
    port_up_s: float = 0.0
    ready_s: float = 0.0
    during: list[float] = field(default_factory=list)
    failures: int = 0
    idle: list[float] = field(default_factory=list)


def _probe(port: int, path: str, timeout: float = 5.0) -> tuple[int, float]:
    """One GET on a new connection: (status or 0 on failure, seconds taken)."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return int(response.status), time.perf_counter() - start
    except (OSError, http.client.HTTPException):
        return 0, time.perf_counter() - start
    finally:
        conn.close()


def _follow_start(gateway: Gateway, run: ProbeRun, started: float) -> None:
    """Probe every INTERVAL_S from the first answer of the diag port until ready."""
    while _probe(gateway.diag_port, "/ambassador/v0/check_alive", 0.5)[0] != 200:
        if time.perf_counter() - started > START_TIMEOUT_S:
            raise RuntimeError(f"diagnostics port never answered:\n{gateway.tail()}")
        time.sleep(0.01)
    run.port_up_s = time.perf_counter() - started
    while time.perf_counter() - started < START_TIMEOUT_S:
        status, took = _probe(gateway.diag_port, "/ambassador/v0/check_alive")
        run.during.append(took)
        run.failures += status != 200
        if _probe(gateway.diag_port, "/ambassador/v0/check_ready")[0] == 200:
            run.ready_s = time.perf_counter() - started
            return
        time.sleep(max(0.0, INTERVAL_S - took))
    raise RuntimeError(f"not ready after {START_TIMEOUT_S:.0f} s:\n{gateway.tail()}")


def measure(mappings: int, workdir: Path) -> ProbeRun:
    """Start a gateway over `mappings` generated Mappings and probe it until ready."""
    config = workdir / "config"
    write_config_files(config, generate_mappings(mappings, ["127.0.0.1:9"]))
    run = ProbeRun(mappings)
    with Gateway(config, workdir / "legation.log") as gateway:
        started = time.perf_counter()
        _follow_start(gateway, run, started)
        for _ in range(IDLE_PROBES):
            run.idle.append(_probe(gateway.diag_port, "/ambassador/v0/check_alive")[1])
            time.sleep(0.01)
    return run


def _print(run: ProbeRun, report: Report) -> None:
    worst = max(run.during) if run.during else float("nan")
    p99_during, p99_idle = percentile(run.during, 99), percentile(run.idle, 99)
    say(
        table(
            [
                ("during the cold build", str(len(run.during)), str(run.failures),
                 ms(percentile(run.during, 50)), ms(p99_during), ms(worst)),
                ("idle (baseline)", str(len(run.idle)), "0",
                 ms(percentile(run.idle, 50)), ms(p99_idle), ms(max(run.idle))),
            ],
            ("check_alive", "probes", "failed", "p50", "p99", "max"),
        )
    )  # fmt: skip
    say(
        f"diag port up after {run.port_up_s:.2f} s, ready after {run.ready_s:.2f} s "
        f"({run.mappings:,} Mappings); p99 during / idle: {times(ratio(p99_during, p99_idle))}"
    )
    ok = run.failures == 0 and worst <= TARGET_MAX_S
    report.figure(
        f"slowest probe during a cold build of {run.mappings:,} Mappings",
        ms(worst),
        baseline=f"idle p99 {ms(p99_idle)}",
        ratio=times(ratio(p99_during, p99_idle)) + " (p99)",
        target=f"<= {ms(TARGET_MAX_S)}, 0 failed",
        verdict=verdict(0.0 if ok else 1.0, 0.5),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; prints its figures."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "probe benchmark")
    parser.add_argument("--mappings", type=int, default=10_000)
    args = parser.parse_args(argv)
    mappings = 1_000 if args.quick else args.mappings
    say(f"probe benchmark (Python {python_version()}): {mappings:,} Mappings, cold start")
    report = Report("probes")
    with tempfile.TemporaryDirectory(prefix="legation-probe-") as tmp:
        run = measure(mappings, Path(tmp))
    _print(run, report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
