"""Propagation benchmark: a new Mapping file → the route answers through a real Envoy.

For each number N of existing Mappings (default 0 and 1,000), a real `legation run`
(`--envoy-concurrency 1`, free loopback ports) serves a temporary folder holding N
generated Mappings plus one fixed route, all to a tiny loopback upstream. Then, per
sample: write a new Mapping file atomically (temp file + rename) for a new prefix and
poll it every 2 ms over one keep-alive connection until 404 turns into 200 (add
latency); delete the file and poll until it is 404 again (removal latency).

Baseline, same run: the round-trip time of polling the existing route — the floor of
what this loop can measure. Target: add latency p50 ≤ 100 ms.
"""

from __future__ import annotations

import os
import re
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
    mapping_doc,
    median,
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
from _gateway import Gateway, Prober
from _upstream import Upstream

TARGET_P50_S = 0.100
READY_TIMEOUT_S = 90.0
SAMPLE_TIMEOUT_S = 10.0
SETTLE_S = 0.1
BASELINE_POLLS = 200
UPSTREAM_PORTS = 4
EXISTING_PATH = "/bench-existing/"


@dataclass
class RunResult:
    """Figures for one number of existing Mappings."""

    existing: int
    ready_s: float
    rtt: list[float] = field(default_factory=list)
    add: list[float] = field(default_factory=list)
    remove: list[float] = field(default_factory=list)
    add_polls: list[int] = field(default_factory=list)
    timeouts: int = 0
    log_problems: list[str] = field(default_factory=list)
    apply_ms: list[float] = field(default_factory=list)
    """The gateway's own read+compile+publish time per reconfiguration, from its log."""


def _write_atomic(path: Path, text: str) -> float:
    """Write `path` through a hidden temp file and a rename; the time just after."""
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return time.perf_counter()


def _baseline_rtt(prober: Prober, polls: int) -> list[float]:
    """Round-trip times of GETs on a route that already exists."""
    out = []
    for _ in range(polls):
        start = time.perf_counter()
        if prober.status(EXISTING_PATH) != 200:
            raise RuntimeError(f"existing route {EXISTING_PATH} does not answer 200")
        out.append(time.perf_counter() - start)
    return out


_APPLY_LINE = re.compile(r"configuration \S+: .* in ([0-9.]+) ms")


def _apply_times(log: str) -> list[float]:
    """Per-reconfiguration times the gateway logs (best effort: [] if the format changed)."""
    found = [float(m.group(1)) for m in _APPLY_LINE.finditer(log)]
    return found[1:]  # the first is the initial build, not a change


def _interesting_log_lines(log: str) -> list[str]:
    """Lines of the gateway log that show trouble (errors, NACKs, tracebacks)."""
    words = ("ERROR", "NACK", "Traceback", "CRITICAL", "rejected")
    return [line for line in log.splitlines() if any(w in line for w in words)]


def measure(
    existing: int,
    samples: int,
    upstream: Upstream,
    workdir: Path,
    gateway_args: Sequence[str] = (),
) -> RunResult:
    """Start a gateway over `existing` Mappings and time `samples` adds and removals."""
    config = workdir / f"config-{existing}"
    services = [f"127.0.0.1:{port}" for port in upstream.ports]
    write_config_files(config, generate_mappings(existing, services) if existing else [])
    service = services[0]
    (config / "existing.yaml").write_text(mapping_doc("bench-existing", EXISTING_PATH, service))
    log = workdir / f"legation-{existing}.log"
    with Gateway(config, log, gateway_args) as gateway:
        ready_s = gateway.wait_ready(READY_TIMEOUT_S)
        result = RunResult(existing, ready_s)
        prober = Prober(gateway.http_port)
        try:
            found, _ = prober.wait_for(EXISTING_PATH, 200, time.perf_counter(), SAMPLE_TIMEOUT_S)
            if found is None:
                raise RuntimeError(f"{EXISTING_PATH} never answered 200:\n{gateway.tail()}")
            result.rtt = _baseline_rtt(prober, BASELINE_POLLS)
            for i in range(samples):
                _sample(i, config, service, prober, result)
        finally:
            prober.close()
        result.log_problems = _interesting_log_lines(gateway.log())
        result.apply_ms = _apply_times(gateway.log())
    return result


def _sample(i: int, config: Path, service: str, prober: Prober, result: RunResult) -> None:
    """One add (404 → 200) and one removal (200 → 404)."""
    name, path = f"bench-new-{i}", f"/bench-new-{i}/"
    file = config / f"{name}.yaml"
    if prober.status(path) == 200:
        raise RuntimeError(f"{path} answers 200 before its Mapping exists")
    start = _write_atomic(file, mapping_doc(name, path, service))
    added, polls = prober.wait_for(path, 200, start, SAMPLE_TIMEOUT_S)
    time.sleep(SETTLE_S)
    file.unlink()
    start = time.perf_counter()
    removed, _ = prober.wait_for(path, 404, start, SAMPLE_TIMEOUT_S)
    time.sleep(SETTLE_S)
    if added is None or removed is None:
        result.timeouts += 1
    if added is not None:
        result.add.append(added)
        result.add_polls.append(polls)
    if removed is not None:
        result.remove.append(removed)


def _stats(values: Sequence[float]) -> tuple[str, str, str, str]:
    p50, p90, p99, top = (ms(percentile(values, q)) for q in (50, 90, 99, 100))
    return p50, p90, p99, top


def _print(results: Sequence[RunResult], report: Report) -> None:
    rows = []
    for r in results:
        rtt = median(r.rtt)
        for what, values in (("add (404→200)", r.add), ("remove (200→404)", r.remove)):
            p50 = percentile(values, 50)
            rows.append(
                (f"{r.existing:,}", what, str(len(values)), *_stats(values), times(ratio(p50, rtt)))
            )
    say("\nLatency from the file change to the first answer with the new status:")
    say(
        table(
            rows,
            ("existing", "change", "samples", "p50", "p90", "p99", "max", "p50 / poll RTT"),
        )
    )
    say("\nBaseline (same run): round trip of one poll on an existing route, and startup:")
    say(
        table(
            [
                (
                    f"{r.existing:,}",
                    ms(median(r.rtt)),
                    ms(percentile(r.rtt, 99)),
                    f"{median([float(p) for p in r.add_polls]):.0f}",
                    f"{r.ready_s:.2f} s",
                    ms(median(r.apply_ms) / 1000),
                    str(r.timeouts),
                )
                for r in results
            ],
            (
                "existing",
                "RTT p50",
                "RTT p99",
                "polls per add (p50)",
                "ready after",
                "gateway apply p50 (log)",
                "timeouts",
            ),
        )
    )
    say(f"\nTarget: add latency p50 <= {TARGET_P50_S * 1000:g} ms")
    for r in results:
        p50 = percentile(r.add, 50)
        outcome = verdict(p50, TARGET_P50_S)
        say(f"  {r.existing:,} existing Mappings: p50 {ms(p50)}: {outcome}")
        report.figure(
            f"add → 200 p50, {r.existing:,} existing",
            ms(p50),
            baseline=f"poll RTT {ms(median(r.rtt))}",
            ratio=times(ratio(p50, median(r.rtt))),
            target=f"<= {TARGET_P50_S * 1000:g} ms",
            verdict=outcome,
        )
        report.figure(
            f"remove → 404 p50, {r.existing:,} existing",
            ms(percentile(r.remove, 50)),
            baseline=f"poll RTT {ms(median(r.rtt))}",
            ratio=times(ratio(percentile(r.remove, 50), median(r.rtt))),
        )
        if r.log_problems:
            say(f"  gateway log, {r.existing:,} Mappings: {len(r.log_problems)} problem line(s):")
            for line in r.log_problems[:5]:
                say(f"    {line[:200]}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 unless it broke."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "propagation benchmark")
    parser.add_argument(
        "--mappings", type=int, nargs="+", default=None, help="numbers of existing Mappings"
    )
    parser.add_argument("--samples", type=int, default=None, help="adds (and removals) per N")
    parser.add_argument(
        "--gateway-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `legation run` (repeat; e.g. --gateway-arg=--xds-delta)",
    )
    args = parser.parse_args(argv)
    counts = args.mappings or ([0, 200] if args.quick else [0, 1000])
    samples = args.samples or (10 if args.quick else 30)
    report = Report("propagation")
    say(
        f"== propagation benchmark (Python {python_version()}, real Envoy, "
        f"{samples} samples, poll every 2 ms)"
    )
    if args.gateway_arg:
        say(f"legation run extra arguments: {' '.join(args.gateway_arg)}")
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="legation-bench-prop-") as tmp,
        Upstream(UPSTREAM_PORTS) as upstream,
    ):
        for count in counts:
            say(f"measuring with {count:,} existing Mappings ...")
            results.append(measure(count, samples, upstream, Path(tmp), args.gateway_arg))
    _print(results, report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
