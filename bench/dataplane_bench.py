"""Data-plane throughput and latency through legation, beside same-run baselines.

Setups, each measured with wrk (1 thread, 32 connections) against one upstream
(nginx `return 200`, 1 worker) on loopback:
- direct: wrk → upstream (the floor);
- nginx: wrk → nginx reverse proxy (1 worker) → upstream;
- envoy-minimal: wrk → Envoy (`--concurrency 1`, same binary) with a hand-written
  static configuration holding one prefix route → upstream;
- legation with 1, 1,000 and 10,000 Mappings (Envoy `--concurrency 1`): requests aimed
  at the last route, and spread over all routes; and 10,000 Mappings served as a plain
  route list (`--route-matcher list`) to show what the matcher tree saves.

Targets: 10,000 Mappings ≥ 0.9x the requests/s of 1 Mapping with p99 within +20%;
1 Mapping ≥ 0.95x the requests/s of the minimal hand-written Envoy configuration.
Needs `wrk` and `nginx` (Debian: `apt-get install -y wrk nginx-light`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Report,
    base_parser,
    free_port,
    say,
    table,
    times,
    verdict,
)
from _gateway import Gateway

from legation.envoy.binary import find_envoy_binary

CONNECTIONS = 32


@dataclass(frozen=True)
class Result:
    """One wrk run."""

    setup: str
    rps: float
    p50_ms: float
    p99_ms: float


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(setup: str, url: str, seconds: int, script: Path | None = None) -> Result:
    """Run wrk once (after a 1 s warm-up) and parse requests/s and latency percentiles."""
    base = ["wrk", "-t1", f"-c{CONNECTIONS}", "--latency"]
    extra = ["-s", str(script)] if script else []
    subprocess.run([*base, "-d1s", *extra, url], capture_output=True, check=True, timeout=30)
    out = subprocess.run(
        [*base, f"-d{seconds}s", *extra, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise RuntimeError(f"{setup}: {non2xx.group(1)} non-2xx answers:\n{out}")
    return Result(setup, rps, p50, p99)


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  upstream backend {{ server 127.0.0.1:{upstream}; keepalive 64; }}
  server {{ listen 127.0.0.1:{upstream}; location / {{ return 200 "ok\\n"; }} }}
  server {{
    listen 127.0.0.1:{proxy};
    location / {{ proxy_pass http://backend; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }}
  }}
}}
"""


def tools_missing(bench: str) -> bool:
    """True (after saying so) when wrk or nginx is missing: `bench` is then skipped."""
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            say(f"{bench}: `{tool}` not found (apt-get install -y wrk nginx-light); skipped")
            return True
    return False


@contextlib.contextmanager
def nginx_upstream(work: Path, upstream: int, proxy: int) -> Iterator[None]:
    """nginx (NGINX_CONF, files in `work`) serving the upstream on `upstream` and a proxy
    to it on `proxy`, from half a second after start until the block ends."""
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, upstream=upstream, proxy=proxy))
    nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)])
    try:
        time.sleep(0.5)
        yield
    finally:
        nginx.terminate()
        nginx.wait()


ENVOY_MINIMAL = """
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
static_resources:
  listeners:
  - name: l
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - {transport}filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/{hcm}
          stat_prefix: h
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes: [{{match: {{prefix: /}}, route: {{cluster: u}}}}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: u
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: u
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {{socket_address: {{address: 127.0.0.1, port_value: {upstream}}}}}
"""
"""A hand-written static Envoy configuration: one listener, one prefix route.
`transport` is empty, or a `transport_socket:` block ending in the filter chain's
indentation (bench/tls_bench.py)."""
HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def spread_script(work: Path, count: int) -> Path:
    """A wrk Lua script requesting a random one of `count` route prefixes per request."""
    path = work / f"spread-{count}.lua"
    path.write_text(
        "math.randomseed(7)\n"
        "request = function()\n"
        f"  return wrk.format(nil, '/svc' .. math.random(0, {count - 1}) .. '/x')\n"
        "end\n"
    )
    return path


def write_mappings(folder: Path, count: int, upstream: int) -> None:
    """`count` Mappings `/svc<i>/` → the upstream, 500 per file."""
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, 500):
        docs = [
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
            f"metadata: {{name: svc{i}}}\n"
            f"spec: {{prefix: /svc{i}/, service: 127.0.0.1:{upstream}}}\n"
            for i in range(start, min(count, start + 500))
        ]
        (folder / f"m{start:05d}.yaml").write_text("".join(docs))


def main() -> int:
    """Run every setup, print the table and the ratios against the targets."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per setup")
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    if tools_missing("dataplane_bench"):
        return 0
    report = Report("dataplane")
    results: dict[str, Result] = {}
    say(f"== data plane: wrk -t1 -c{CONNECTIONS}, {seconds} s per setup, Envoy --concurrency 1 ==")
    with tempfile.TemporaryDirectory(prefix="legation-bench-dp-") as tmp:
        work = Path(tmp)
        upstream, proxy = free_port(), free_port()
        (work / "nginx.conf").write_text(
            NGINX_CONF.format(dir=work, upstream=upstream, proxy=proxy)
        )
        nginx = subprocess.Popen(["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)])
        envoy = None
        try:
            time.sleep(0.5)
            results["direct"] = wrk("direct", f"http://127.0.0.1:{upstream}/x", seconds)
            results["nginx"] = wrk("nginx", f"http://127.0.0.1:{proxy}/x", seconds)
            port, admin = free_port(), free_port()
            minimal = ENVOY_MINIMAL.format(
                admin=admin, port=port, upstream=upstream, hcm=HCM, transport=""
            )
            (work / "envoy.yaml").write_text(minimal)
            envoy = subprocess.Popen(
                [
                    str(find_envoy_binary()),
                    "-c",
                    str(work / "envoy.yaml"),
                    "--concurrency",
                    "1",
                    "--disable-hot-restart",
                    "--log-level",
                    "error",
                ]
            )
            time.sleep(1.0)
            results["envoy-minimal"] = wrk("envoy-minimal", f"http://127.0.0.1:{port}/x", seconds)
            envoy.terminate()
            envoy.wait()
            envoy = None
            counts = (1, 1000) if args.quick else (1, 1000, 10000)
            runs = [(n, "auto") for n in counts] + [(counts[-1], "list")]
            for count, matcher in runs:
                folder = work / f"cfg-{count}-{matcher}"
                write_mappings(folder, count, upstream)
                with Gateway(
                    folder, work / f"{count}-{matcher}.log", ["--route-matcher", matcher]
                ) as gw:
                    gw.wait_ready(120)
                    label = f"legation {count}" + (" (list)" if matcher == "list" else "")
                    url = f"http://127.0.0.1:{gw.http_port}"
                    results[f"{label} last"] = wrk(
                        f"{label} last", f"{url}/svc{count - 1}/x", seconds
                    )
                    results[f"{label} spread"] = wrk(
                        f"{label} spread", url + "/", seconds, spread_script(work, count)
                    )
        finally:
            if envoy is not None:
                envoy.kill()
            nginx.terminate()
            nginx.wait()
    base = results["legation 1 last"]
    rows = [
        [
            r.setup,
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.2f} ms",
            f"{r.p99_ms:.2f} ms",
            times(r.rps / results["direct"].rps),
            times(r.rps / base.rps),
        ]
        for r in results.values()
    ]
    say(table(rows, ["setup", "requests/s", "p50", "p99", "vs direct", "vs legation 1"]))
    minimal = results["envoy-minimal"]
    one_vs_min = base.rps / minimal.rps
    say(
        f"\nlegation 1 Mapping vs hand-written Envoy: {times(one_vs_min)} requests/s "
        f"(target ≥ 0.95x): {verdict(0.95, one_vs_min)}"
    )
    report.figure(
        "1 Mapping rps vs minimal Envoy",
        f"{base.rps:,.0f}/s",
        baseline=f"{minimal.rps:,.0f}/s",
        ratio=times(one_vs_min),
        target="≥ 0.95x",
        verdict=verdict(0.95, one_vs_min),
    )
    big = max(n for n in (1, 1000, 10000) if f"legation {n} last" in results)
    for mode in ("last", "spread"):
        r = results[f"legation {big} {mode}"]
        rps_ratio, p99_ratio = r.rps / base.rps, r.p99_ms / base.p99_ms
        ok = verdict(0.9, rps_ratio) == "PASS" and p99_ratio <= 1.2
        say(
            f"legation {big} ({mode}) vs 1 Mapping: {times(rps_ratio)} requests/s (target ≥ 0.9x), "
            f"p99 {times(p99_ratio)} (target ≤ 1.2x): {'PASS' if ok else 'MISS'}"
        )
        report.figure(
            f"{big} Mappings ({mode}) rps vs 1",
            f"{r.rps:,.0f}/s",
            baseline=f"{base.rps:,.0f}/s",
            ratio=times(rps_ratio),
            target="≥ 0.9x, p99 ≤ 1.2x",
            verdict="PASS" if ok else "MISS",
        )
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
