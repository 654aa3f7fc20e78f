"""The cost of rate limiting on the data plane, in one run of one gateway.

`legation run --rate-limiter` (Envoy `--concurrency 1`, the bundled envoyproxy/ratelimit
and Redis on this machine) with three Mappings to one nginx upstream (`return 200`, 1
worker), each measured with wrk (1 thread, 32 connections, as bench/dataplane_bench.py):
- free: no limits (the baseline);
- global: labels → a RateLimit far above what the run can reach, so every request is
  a decision of the limiter and none is refused (wrk fails on any non-2xx answer);
- local: a `local_rate_limit` bucket that never runs dry;
- free again: the baseline once more (the ratios use the mean of both free runs).

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


def measure(work: Path, seconds: int) -> tuple[dict[str, Result], float]:
    """The three setups, and the limiter's decisions per second during the global run."""
    upstream, proxy = free_port(), free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, upstream=upstream, proxy=proxy))
    (work / "config").mkdir()
    (work / "config" / "bench.yaml").write_text(CONFIG.format(upstream=upstream, huge=HUGE))
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)])
    results: dict[str, Result] = {}
    try:
        time.sleep(0.5)
        with Gateway(work / "config", work / "legation.log", ["--rate-limiter"]) as gw:
            gw.wait_ready(60)
            base = f"http://127.0.0.1:{gw.http_port}"
            results["free"] = wrk("free", base + "/free/x", seconds)
            before, start = decisions(gw), time.perf_counter()
            results["global"] = wrk("global", base + "/global/x", seconds)
            rate = (decisions(gw) - before) / (time.perf_counter() - start)
            results["local"] = wrk("local", base + "/local/x", seconds)
            # the machine is shared: a second baseline at the end shows the drift
            results["free again"] = wrk("free again", base + "/free/x", seconds)
    finally:
        nginx.terminate()
        nginx.wait()
    return results, rate


def main() -> int:
    """Run the setups, print the table and the ratios against the targets."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per setup")
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    missing = _missing_programs()
    if missing:
        say(f"ratelimit_bench: {missing}; skipped")
        return 0
    say(f"== rate limiting: wrk -t1 -c32, {seconds} s per setup, Envoy --concurrency 1 ==")
    with tempfile.TemporaryDirectory(prefix="legation-bench-rl-") as tmp:
        results, rate = measure(Path(tmp), seconds)
    first, again = results["free"], results["free again"]
    free = Result("free (mean)", (first.rps + again.rps) / 2, first.p50_ms, first.p99_ms)
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
