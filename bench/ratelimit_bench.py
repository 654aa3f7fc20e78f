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
limiter's decisions/s (Envoy's `ratelimit.ok` counter over the global run).
Needs `wrk` and `nginx` (Debian: `apt-get install -y wrk nginx-light`), redis-server,
and envoyproxy/ratelimit (`make ratelimit`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
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


def measure(work: Path, seconds: int, rounds: int) -> tuple[dict[str, Result], float]:
    """Each setup `rounds` times, interleaved (free, global, local, free, ...: the
    machine is shared, so drift hits every setup alike), averaged; and the limiter's
    decisions per second during the global runs."""
    upstream, proxy = free_port(), free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, upstream=upstream, proxy=proxy))
    (work / "config").mkdir()
    (work / "config" / "bench.yaml").write_text(CONFIG.format(upstream=upstream, huge=HUGE))
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)])
    runs: list[Result] = []
    decided, global_s = 0, 0.0
    try:
        time.sleep(0.5)
        with Gateway(work / "config", work / "legation.log", ["--rate-limiter"]) as gw:
            gw.wait_ready(60)
            base = f"http://127.0.0.1:{gw.http_port}"
            for _ in range(rounds):
                for setup in SETUPS:
                    before, start = decisions(gw), time.perf_counter()
                    runs.append(wrk(setup, f"{base}/{setup}/x", seconds))
                    if setup == "global":
                        decided += decisions(gw) - before
                        global_s += time.perf_counter() - start
    finally:
        nginx.terminate()
        nginx.wait()
    return {setup: _mean(runs, setup) for setup in SETUPS}, decided / global_s


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
        results, rate = measure(Path(tmp), seconds, rounds)
    free = results["free"]
    rows = [
        [r.setup, f"{r.rps:,.0f}", _ms(r.p50_ms), _ms(r.p99_ms), times(r.rps / free.rps)]
        for r in results.values()
    ]
    say(table(rows, ["setup", "requests/s", "p50", "p99", "vs free"]))
    say(f"limiter decisions/s during the global run: {rate:,.0f}")
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
