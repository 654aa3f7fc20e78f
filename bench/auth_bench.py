"""Requests/s through legation with an AuthService (HTTP and gRPC ext_authz), each as a
ratio to the same gateway's route that bypasses auth, in one run.

Setups, each measured with wrk (1 thread, 32 connections), Envoy `--concurrency 1`:
- HTTP ext_authz: the auth service is nginx (`return 200`, 1 worker), as is the upstream;
- gRPC ext_authz: the auth service is a grpcio `envoy.service.auth.v3` server in this
  process (tests/e2e/auth_servers.py), so its own speed (Python) bounds the figure.
For each, the route `/open/` (`bypass_auth: true`) on the same gateway is the baseline.
No target is set by the issue for ext_authz; the figures show what a check costs.
Needs `wrk` and `nginx` (Debian: `apt-get install -y wrk nginx-light`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Report, base_parser, free_port, say, table, times
from _gateway import Gateway
from dataplane_bench import Result, nginx_upstream, tools_missing, wrk

from tests.e2e.auth_servers import GrpcAuthServer


def write_config(folder: Path, upstream: int, auth: str) -> None:
    """Two Mappings to the upstream (`/auth/` checked, `/open/` bypassing) and the
    AuthService `auth` (YAML spec lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    service = f"127.0.0.1:{upstream}"
    (folder / "config.yaml").write_text(
        "---\napiVersion: getambassador.io/v3alpha1\nkind: AuthService\n"
        f"metadata: {{name: auth}}\nspec: {auth}\n"
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        f"metadata: {{name: checked}}\nspec: {{prefix: /auth/, service: '{service}'}}\n"
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        f"metadata: {{name: open}}\nspec: {{prefix: /open/, service: '{service}',"
        " bypass_auth: true}\n"
    )


def measure(label: str, work: Path, upstream: int, auth: str, seconds: int) -> list[Result]:
    """wrk on `/open/` then `/auth/` of one gateway with the AuthService `auth`."""
    folder = work / label.replace(" ", "-")
    write_config(folder, upstream, auth)
    with Gateway(folder, work / f"{folder.name}.log") as gw:
        gw.wait_ready(60)
        url = f"http://127.0.0.1:{gw.http_port}"
        return [
            wrk(f"{label}: no auth", f"{url}/open/x", seconds),
            wrk(f"{label}: ext_authz", f"{url}/auth/x", seconds),
        ]


def main() -> int:
    """Run both setups, print the table and the ratios."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per setup")
    args = parser.parse_args()
    seconds = 2 if args.quick else args.seconds
    if tools_missing("auth_bench"):
        return 0
    report = Report("auth")
    say(f"== AuthService: wrk -t1 -c32, {seconds} s per setup, Envoy --concurrency 1 ==")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="legation-bench-auth-") as tmp:
        work = Path(tmp)
        upstream = free_port()
        with nginx_upstream(work, upstream, free_port()):
            http_auth = f"{{auth_service: '127.0.0.1:{upstream}', path_prefix: /check}}"
            results += measure("http", work, upstream, http_auth, seconds)
            with GrpcAuthServer() as grpc_auth:
                spec = (
                    f"{{auth_service: '127.0.0.1:{grpc_auth.port}', proto: grpc,"
                    " protocol_version: v3}"
                )
                results += measure("grpc", work, upstream, spec, seconds)
    rows = [[r.setup, f"{r.rps:,.0f}", f"{r.p50_ms:.2f} ms", f"{r.p99_ms:.2f} ms"] for r in results]
    say(table(rows, ["setup", "requests/s", "p50", "p99"]))
    for plain, checked in (results[0:2], results[2:4]):
        ratio = checked.rps / plain.rps
        name = checked.setup.split(":")[0]
        say(f"{name} ext_authz vs no auth: {times(ratio)} requests/s, p99 {checked.p99_ms:.2f} ms")
        report.figure(
            f"{name} ext_authz rps vs no auth",
            f"{checked.rps:,.0f}/s",
            baseline=f"{plain.rps:,.0f}/s",
            ratio=times(ratio),
        )
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
