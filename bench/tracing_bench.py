"""Data-plane cost of tracing: requests/s through legation with no TracingService, and
with one exporting to a real Jaeger at 1 % and 100 % sampling, in one run.

One gateway (1 Mapping → nginx `return 200`, Envoy `--concurrency 1`), measured with wrk
(1 thread, 32 connections); the TracingService is written between the phases and
applied live (no restart), so every phase runs on the same Envoy; the phases are
interleaved over several rounds and each one's median is reported. Target: tracing at
1 % ≥ 0.85x the requests/s without tracing. Needs `wrk`, `nginx` and the Jaeger that
`make jaeger` builds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Report, base_parser, free_port, say, table, times, verdict
from _gateway import Gateway, Prober
from dataplane_bench import NGINX_CONF, Result, write_mappings, wrk

from legation.ratelimit.binaries import go_tools_dir

TRACING = """\
apiVersion: getambassador.io/v3alpha1
kind: TracingService
metadata: {{name: tracing}}
spec: {{service: "127.0.0.1:{port}", driver: {driver}, sampling: {{random: {percent}}}}}
"""


def _applied(gw: Gateway, percent: float | None) -> bool:
    """The gateway serves the TracingService with this sampling (None: none) to Envoy."""
    probe = Prober(gw.diag_port)
    try:
        probe.conn.request("GET", "/ambassador/v0/diag/?json=true")
        data = json.loads(probe.conn.getresponse().read())
    finally:
        probe.close()
    tracing = data["observability"]["tracing"]
    seen = None if tracing is None else tracing["sampling"]["random"]
    return bool(seen == percent and data["envoy"]["config_state"].startswith("in sync"))


def _set_tracing(gw: Gateway, folder: Path, port: int, driver: str, percent: float | None) -> None:
    """Write (or, for None, remove) the TracingService and wait until Envoy has it."""
    path = folder / "tracing.yaml"
    if percent is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(TRACING.format(port=port, driver=driver, percent=percent))
    deadline = time.monotonic() + 30
    while not _applied(gw, percent):
        if time.monotonic() > deadline:
            raise RuntimeError(f"TracingService at {percent} % not applied:\n{gw.tail()}")
        time.sleep(0.1)
    time.sleep(1.0)  # let the drained listener's connections go


PHASES: tuple[tuple[str, float | None], ...] = (
    ("no tracing", None),
    ("tracing 1 %", 1.0),
    ("tracing 100 %", 100.0),
)


def _median(runs: list[Result]) -> Result:
    """The run with the median requests/s."""
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def main() -> int:
    """Measure the three phases and print the ratios."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three phases")
    parser.add_argument("--driver", choices=("opentelemetry", "zipkin"), default="opentelemetry")
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    missing = [t for t in ("wrk", "nginx") if shutil.which(t) is None]
    if missing or not (go_tools_dir() / "jaeger-v1.76.0").exists():
        say(f"tracing_bench: {', '.join(missing) or 'jaeger (make jaeger)'} not found; skipped")
        return 0
    from tests.e2e.jaeger import Jaeger

    report = Report("tracing")
    say(f"== tracing ({args.driver}): wrk -t1 -c32, {rounds} x {seconds} s per phase (median) ==")
    with tempfile.TemporaryDirectory(prefix="legation-bench-trace-") as tmp, Jaeger() as jaeger:
        work, upstream = Path(tmp), free_port()
        (work / "nginx.conf").write_text(
            NGINX_CONF.format(dir=work, upstream=upstream, proxy=free_port())
        )
        nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)])
        try:
            folder = work / "cfg"
            write_mappings(folder, 1, upstream)
            with Gateway(folder, work / "legation.log") as gw:
                gw.wait_ready(60)
                url = f"http://127.0.0.1:{gw.http_port}/svc0/x"
                otel = args.driver == "opentelemetry"
                port = jaeger.otlp_port if otel else jaeger.zipkin_port
                runs: dict[str, list[Result]] = {label: [] for label, _ in PHASES}
                for _ in range(rounds):  # interleaved: the machine's noise hits every phase
                    for label, percent in PHASES:
                        _set_tracing(gw, folder, port, args.driver, percent)
                        runs[label].append(wrk(label, url, seconds))
                results = {label: _median(rs) for label, rs in runs.items()}
        finally:
            nginx.terminate()
            nginx.wait()
    return _report(report, results, args.summary_json)


def _report(report: Report, results: dict[str, Result], summary: Path | None) -> int:
    base = results["no tracing"]
    rows = [[r.setup, f"{r.rps:,.0f}", f"{r.p50_ms:.2f} ms", f"{r.p99_ms:.2f} ms",
             times(r.rps / base.rps)] for r in results.values()]  # fmt: skip
    say(table(rows, ["phase", "requests/s", "p50", "p99", "vs no tracing"]))
    for label, target in (("tracing 1 %", 0.85), ("tracing 100 %", None)):
        r = results[label]
        ratio = r.rps / base.rps
        mark = verdict(target, ratio) if target is not None else "—"
        say(f"{label} vs no tracing: {times(ratio)} requests/s"
            + (f" (target ≥ {target}x): {mark}" if target else ""))  # fmt: skip
        report.figure(
            f"rps with {label}",
            f"{r.rps:,.0f}/s",
            baseline=f"{base.rps:,.0f}/s",
            ratio=times(ratio),
            target=f"≥ {target}x" if target else "",
            verdict=mark,
        )
    report.write(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
