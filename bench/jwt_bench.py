"""JWT validation's cost: requests/s through legation to a route that needs a valid JWT,
beside the same gateway's route without authentication, in one run.

One legation (Envoy `--concurrency 1`), two Mappings to one upstream (nginx `return
200`, 1 worker): `/open/` (no FilterPolicy rule) and `/jwt/` (a JWT Filter, RS256, JWK
set inline, a claim copied to a header). wrk (1 thread, 32 connections) sends the same
valid token on every request to `/jwt/`, as a client holding a session token does
(Envoy remembers verified tokens: `jwt_cache_config`). The two routes are measured in
turn, three rounds (one with `--quick`), and the best run of each is compared.

Target: `/jwt/` ≥ 0.85x the requests/s of `/open/`; p99 of both reported.
Needs `wrk` and `nginx` (Debian: `apt-get install -y wrk nginx-light`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Report, base_parser, free_port, say, table, times, verdict
from _gateway import Gateway, Prober
from dataplane_bench import Result, nginx_upstream, tools_missing, wrk

from tests.e2e.jwks import SigningKey, jwks_json

TARGET = 0.85
ROUNDS = 3
"""Runs of each route, alternating (the best of each is compared)."""


def write_config(folder: Path, upstream: int, key: SigningKey) -> None:
    """Two Mappings, a JWT Filter with the key's JWK set inline, a FilterPolicy."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = [
        {"kind": "Mapping", "name": "open",
         "spec": {"prefix": "/open/", "service": f"127.0.0.1:{upstream}"}},
        {"kind": "Mapping", "name": "jwt",
         "spec": {"prefix": "/jwt/", "service": f"127.0.0.1:{upstream}"}},
        {"kind": "Filter", "name": "bench",
         "spec": {"JWT": {"jwks": jwks_json(key), "issuer": "bench", "audience": "bench",
                          "injectRequestHeaders": [
                              {"name": "X-Sub", "value": "{{ .token.Claims.sub }}"}]}}},
        {"kind": "FilterPolicy", "name": "bench",
         "spec": {"rules": [{"path": "/jwt/*", "filters": [{"name": "bench"}]}]}},
    ]  # fmt: skip
    text = "".join(
        "---\n"
        + json.dumps(
            {
                "apiVersion": "getambassador.io/v3alpha1",
                "kind": d["kind"],
                "metadata": {"name": d["name"]},
                "spec": d["spec"],
            }
        )
        + "\n"
        for d in docs
    )
    (folder / "bench.yaml").write_text(text)


def header_script(work: Path, token: str) -> Path:
    """A wrk Lua script sending `Authorization: Bearer <token>` on every request."""
    path = work / "token.lua"
    path.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    return path


def main() -> int:
    """Measure both routes in one gateway, print the table and the ratio."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per route")
    args = parser.parse_args()
    seconds = 3 if args.quick else args.seconds
    if tools_missing("jwt_bench"):
        return 0
    report = Report("jwt")
    key = SigningKey("bench")
    token = key.token(iss="bench", aud="bench", sub="user-1", exp=int(time.time()) + 3600)
    say(f"== JWT: wrk -t1 -c32, {seconds} s per route, Envoy --concurrency 1 ==")
    with tempfile.TemporaryDirectory(prefix="legation-bench-jwt-") as tmp:
        work = Path(tmp)
        upstream = free_port()
        with nginx_upstream(work, upstream, free_port()):
            write_config(work / "cfg", upstream, key)
            with Gateway(work / "cfg", work / "legation.log") as gw:
                gw.wait_ready(60)
                probe = Prober(gw.http_port)
                if probe.status("/jwt/x") != 401:  # the route is really protected
                    raise RuntimeError(f"/jwt/ without a token did not get 401:\n{gw.tail()}")
                probe.close()
                url = f"http://127.0.0.1:{gw.http_port}"
                script = header_script(work, token)
                # alternate the routes, best run of each: the machine is shared and noisy
                runs: dict[str, list[Result]] = {"no auth (/open/)": [], "JWT (/jwt/)": []}
                for _ in range(1 if args.quick else ROUNDS):
                    for label, path in zip(runs, ("/open/x", "/jwt/x"), strict=True):
                        runs[label].append(wrk(label, url + path, seconds, script))
                results = [max(r, key=lambda x: x.rps) for r in runs.values()]
    _print(results, report)
    report.write(args.summary_json)
    return 0


def _print(results: list[Result], report: Report) -> None:
    base, jwt = results
    rows = [
        [
            r.setup,
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.2f} ms",
            f"{r.p99_ms:.2f} ms",
            times(r.rps / base.rps),
        ]
        for r in results
    ]
    say(table(rows, ["route", "requests/s", "p50", "p99", "vs no auth"]))
    ratio = jwt.rps / base.rps
    result = verdict(TARGET, ratio)
    say(f"\nJWT vs no auth: {times(ratio)} requests/s (target ≥ {TARGET}x): {result}")
    report.figure(
        "JWT rps vs no auth",
        f"{jwt.rps:,.0f}/s (p99 {jwt.p99_ms:.2f} ms)",
        baseline=f"{base.rps:,.0f}/s (p99 {base.p99_ms:.2f} ms)",
        ratio=times(ratio),
        target=f"≥ {TARGET}x",
        verdict=result,
    )


if __name__ == "__main__":
    sys.exit(main())
