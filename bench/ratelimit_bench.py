"""The cost of rate limiting on the data plane, in one run of one gateway.

`legation run --rate-limiter` (Envoy `--concurrency 1`, the bundled envoyproxy/ratelimit
and Redis on this machine) with three Mappings to one nginx upstream (`return 200`, 1
worker), each measured with wrk (1 thread, 32 connections, as bench/dataplane_bench.py):
- free: no limits (the baseline);
- global: labels → a RateLimit far above what the run can reach, so every request is
  a decision of the limiter and none is refused (wrk fails on any non-2xx answer);
- local: a `local_rate_limit` bucket that never runs dry.
Each is run `--rounds` times, interleaved, and averaged (the machine is shared).

Targets: global ≥ 0.7x the requests/s of free; local ≥ 0.95x. Also reported: the
limiter's decisions/s (Envoy's `ratelimit.ok` counter over the global run), and the
CPU each program used per request in each setup (from /proc, wrk not counted), which
says where a global decision's cost goes: Envoy's own gRPC call to the limiter, the
limiter, Redis.
Needs `wrk` and `nginx` (Debian: `apt-get install -y wrk nginx-light`), redis-server,
and envoyproxy/ratelimit (`make ratelimit`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Report, base_parser, free_port, say, table, times, verdict
from _gateway import Gateway
from dataplane_bench import NGINX_CONF, Result, wrk

from legation.ratelimit.binaries import ProgramNotFound, find_ratelimit, find_redis_server

HUGE = 1_000_000_000
"""A limit no run of a few seconds reaches."""

CONFIG = """\
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: free}}
spec: {{prefix: /free/, service: "127.0.0.1:{upstream}"}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: global}}
spec:
  prefix: /global/
  service: "127.0.0.1:{upstream}"
  labels: {{ambassador: [{{bench: [{{generic_key: {{value: bench}}}}, {{remote_address: {{}}}}]}}]}}
---
apiVersion: getambassador.io/v3alpha1
kind: RateLimit
metadata: {{name: bench}}
spec:
  domain: ambassador
  limits:
  - {{pattern: [{{generic_key: bench}}, {{remote_address: ""}}], rate: {huge}, unit: second}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: local}}
spec:
  prefix: /local/
  service: "127.0.0.1:{upstream}"
  local_rate_limit: {{requests: {huge}, unit: second}}
"""


def decisions(gw: Gateway) -> int:
    """Envoy's count of limiter answers "OK" so far (every route's cluster)."""
    url = f"http://127.0.0.1:{gw.diag_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    found = re.findall(r"^envoy_cluster_ratelimit_ok\{[^}]*\} (\d+)", text, re.M)
    return sum(int(n) for n in found)


def group_cpu(pgid: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each program of a process group, by
    name (legation's children: envoy, ratelimit, redis-server; and nginx's)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        fields = rest.split()
        if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is the 3rd after it
            key = name.split("-")[0]
            out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def _missing_programs() -> str | None:
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found (apt-get install -y wrk nginx-light)"
    try:
        find_ratelimit()
        find_redis_server()
    except ProgramNotFound as exc:
        return str(exc)
    return None


SETUPS = ("free", "global", "local")


def _mean(runs: list[Result], setup: str) -> Result:
    mine = [r for r in runs if r.setup == setup]
    n = len(mine)
    return Result(
        setup,
        sum(r.rps for r in mine) / n,
        sum(r.p50_ms for r in mine) / n,
        sum(r.p99_ms for r in mine) / n,
    )


@dataclass
class Phase:
    """CPU seconds per program and requests served, summed over one setup's runs."""

    cpu: dict[str, float] = field(default_factory=dict)
    requests: float = 0.0

    def add(self, before: dict[str, float], after: dict[str, float], requests: float) -> None:
        """Add one run: the programs' CPU used between `before` and `after`."""
        for name, used in after.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + used - before.get(name, 0.0)
        self.requests += requests

    def per_request_us(self) -> dict[str, float]:
        """Microseconds of CPU per request, per program."""
        return {name: used / self.requests * 1e6 for name, used in sorted(self.cpu.items())}


def measure(
    work: Path, seconds: int, rounds: int
) -> tuple[dict[str, Result], float, dict[str, Phase]]:
    """Each setup `rounds` times, interleaved (free, global, local, free, ...: the
    machine is shared, so drift hits every setup alike), averaged; the limiter's
    decisions per second during the global runs; and each setup's CPU per program."""
    upstream, proxy = free_port(), free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, upstream=upstream, proxy=proxy))
    (work / "config").mkdir()
    (work / "config" / "bench.yaml").write_text(CONFIG.format(upstream=upstream, huge=HUGE))
    nginx = subprocess.Popen(
        ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)], start_new_session=True
    )
    runs: list[Result] = []
    phases = {setup: Phase() for setup in SETUPS}
    decided, global_s = 0, 0.0
    try:
        time.sleep(0.5)
        with Gateway(work / "config", work / "legation.log", ["--rate-limiter"]) as gw:
            gw.wait_ready(60)
            assert gw.proc is not None
            groups = (gw.proc.pid, nginx.pid)

            def cpu() -> dict[str, float]:
                return {k: v for g in groups for k, v in group_cpu(g).items()}

            base = f"http://127.0.0.1:{gw.http_port}"
            for _ in range(rounds):
                for setup in SETUPS:
                    before, start, used = decisions(gw), time.perf_counter(), cpu()
                    runs.append(wrk(setup, f"{base}/{setup}/x", seconds))
                    # wrk's 1 s warm-up is inside the CPU window: count its requests too
                    phases[setup].add(used, cpu(), runs[-1].rps * (seconds + 1))
                    if setup == "global":
                        decided += decisions(gw) - before
                        global_s += time.perf_counter() - start
    finally:
        nginx.terminate()
        nginx.wait()
    return {setup: _mean(runs, setup) for setup in SETUPS}, decided / global_s, phases


def report_cpu(phases: dict[str, Phase]) -> None:
    """Where the CPU goes: microseconds per request of each program, per setup."""
    names = sorted({name for phase in phases.values() for name in phase.cpu})
    rows = []
    for setup, phase in phases.items():
        per = phase.per_request_us()
        rows.append([setup, *(f"{per.get(n, 0.0):.1f}" for n in names)])
    say("CPU per request (µs; wrk not counted):")
    say(table(rows, ["setup", *names]))


def main() -> int:
    """Run the setups, print the table and the ratios against the targets."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each setup")
    args = parser.parse_args()
    seconds, rounds = (3, 1) if args.quick else (args.seconds, args.rounds)
    missing = _missing_programs()
    if missing:
        say(f"ratelimit_bench: {missing}; skipped")
        return 0
    say(
        f"== rate limiting: wrk -t1 -c32, {rounds} x {seconds} s per setup (interleaved), "
        "Envoy --concurrency 1 =="
    )
    with tempfile.TemporaryDirectory(prefix="legation-bench-rl-") as tmp:
        results, rate, phases = measure(Path(tmp), seconds, rounds)
    free = results["free"]
    rows = [
        [r.setup, f"{r.rps:,.0f}", _ms(r.p50_ms), _ms(r.p99_ms), times(r.rps / free.rps)]
        for r in results.values()
    ]
    say(table(rows, ["setup", "requests/s", "p50", "p99", "vs free"]))
    say(f"limiter decisions/s during the global run: {rate:,.0f}")
    report_cpu(phases)
    report = Report("ratelimit")
    for name, target in (("global", 0.7), ("local", 0.95)):
        ratio = results[name].rps / free.rps
        say(f"{name} limit vs none: {times(ratio)} (target ≥ {target}x): {verdict(target, ratio)}")
        report.figure(
            f"{name} limit rps vs none",
            f"{results[name].rps:,.0f}/s",
            baseline=f"{free.rps:,.0f}/s",
            ratio=times(ratio),
            target=f"≥ {target}x",
            verdict=verdict(target, ratio),
        )
    report.figure("limiter decisions/s", f"{rate:,.0f}/s")
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
