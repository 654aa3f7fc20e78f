"""HTTPS through legation beside a hand-written Envoy TLS configuration, and how fast a
changed certificate is served.

Setups, each measured with wrk (1 thread, 32 connections) against nginx `return 200`
(1 worker) on loopback, Envoy `--concurrency 1` (the same binary) terminating TLS with
one ECDSA P-256 certificate:
- envoy-minimal: a static configuration, one TLS chain, one prefix route;
- legation: a Host `*` with the certificate from a folder Secret, one Mapping;
each with keep-alive, and with `Connection: close` (a new TLS handshake per request,
so requests/s are handshakes/s).

Then, N times each, a certificate is replaced and new handshakes are made every 5 ms
until the new certificate is presented: the folder Secret file rewritten (atomic
rename); the certificate files a TLSContext names (`cert_chain_file` /
`private_key_file`, outside the folder) replaced by rename (key, then certificate);
and, when ~/.cache/legation/k8s-assets has kube-apiserver and etcd, a Kubernetes
Secret replaced through the API (a real API server, `legation run --kubernetes`).
`--rotation-only` skips the wrk runs (and so needs neither wrk nor nginx).

Targets: legation ≥ 0.95x the requests/s of the hand-written configuration (both
modes); secret change → new certificate served, p50 ≤ 100 ms (folder) and ≤ 150 ms
(Kubernetes); the file replacement is shown beside the folder Secret figure.
Needs `wrk` and `nginx` (Debian: `apt-get install -y wrk nginx-light`).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Report, base_parser, free_port, ms, percentile, say, table, times, verdict
from _gateway import Gateway
from dataplane_bench import ENVOY_MINIMAL, HCM, Result, nginx_upstream, wrk
from k8s_tls import kubernetes_rotation

from legation.envoy.binary import find_envoy_binary
from tests.certs import Leaf, TestCA

TLS_TRANSPORT = """transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/{tls}
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificates:
            - certificate_chain: {{filename: {cert}}}
              private_key: {{filename: {key}}}
      """
"""The hand-written configuration's TLS: one chain (dataplane_bench's ENVOY_MINIMAL)."""

TLS_CONTEXT = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"

CLOSE_SCRIPT = 'wrk.headers["Connection"] = "close"\n'
"""wrk Lua: every request on a new connection (a full TLS handshake each)."""


def secret_yaml(leaf: Leaf) -> str:
    """A kubernetes.io/tls Secret `bench-tls` (stringData PEM)."""

    def block(pem: bytes) -> str:
        return "\n".join("    " + line for line in pem.decode().strip().splitlines())

    return (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: bench-tls, namespace: default}\n"
        "type: kubernetes.io/tls\nstringData:\n"
        f"  tls.crt: |\n{block(leaf.cert_pem)}\n  tls.key: |\n{block(leaf.key_pem)}\n"
    )


FILES_SNI = "files.bench.example.com"
"""SNI of the Host whose TLSContext names certificate files."""


def replace_files(certs: Path, leaf: Leaf) -> float:
    """Rename new key and certificate files over the old ones; the time of the last."""
    for name, data in (("tls.key", leaf.key_pem), ("tls.crt", leaf.cert_pem)):
        tmp = certs / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(certs / name)
    return time.monotonic()


def write_config(folder: Path, leaf: Leaf, upstream: int, certs: Path) -> None:
    """Secret + Host `*` (TLS, cleartext routed) + one Mapping to the upstream, and a
    Host for FILES_SNI on a TLSContext with the certificate files in `certs`."""
    folder.mkdir(parents=True, exist_ok=True)
    certs.mkdir(parents=True, exist_ok=True)
    replace_files(certs, leaf)
    (folder / "files.yaml").write_text(
        "apiVersion: getambassador.io/v3alpha1\nkind: TLSContext\n"
        "metadata: {name: bench-files, namespace: default}\n"
        f"spec: {{cert_chain_file: {certs / 'tls.crt'}, private_key_file: {certs / 'tls.key'}}}\n"
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Host\n"
        "metadata: {name: files, namespace: default}\n"
        f"spec: {{hostname: {FILES_SNI}, tlsContext: {{name: bench-files}}}}\n"
    )
    (folder / "secret.yaml").write_text(secret_yaml(leaf))
    (folder / "routes.yaml").write_text(
        "apiVersion: getambassador.io/v3alpha1\nkind: Host\n"
        "metadata: {name: all, namespace: default}\n"
        "spec: {hostname: '*', tlsSecret: {name: bench-tls},"
        " requestPolicy: {insecure: {action: Route}}}\n"
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        "metadata: {name: up, namespace: default}\n"
        f"spec: {{hostname: '*', prefix: /, service: 127.0.0.1:{upstream}}}\n"
    )


def served_der(port: int, sni: str = "bench.example.com") -> bytes | None:
    """The certificate a new TLS handshake on `port` gets (DER), or None on failure."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
            context.wrap_socket(raw, server_hostname=sni) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def rotation_samples(
    port: int, ca: TestCA, count: int, replace: Callable[[Leaf], float], sni: str
) -> list[float]:
    """Seconds from `replace(leaf)` (which returns when it made the change) to a new
    handshake with `sni` getting the new certificate."""
    out = []
    for _ in range(count):
        leaf = ca.issue(sni)
        der = ssl.PEM_cert_to_DER_cert(leaf.cert_pem.decode())
        start = replace(leaf)
        while served_der(port, sni) != der:
            if time.monotonic() - start > 10:
                raise RuntimeError("new certificate not served within 10 s")
            time.sleep(0.005)
        out.append(time.monotonic() - start)
        time.sleep(0.2)
    return out


def replace_secret_file(folder: Path) -> Callable[[Leaf], float]:
    """Rewrite the folder's Secret manifest (atomic rename)."""

    def replace(leaf: Leaf) -> float:
        tmp = folder / ".secret.yaml.tmp"
        tmp.write_text(secret_yaml(leaf))
        start = time.monotonic()
        tmp.replace(folder / "secret.yaml")
        return start

    return replace


def run_envoy_minimal(work: Path, leaf: Leaf, upstream: int, seconds: int) -> list[Result]:
    """wrk against the hand-written TLS configuration, keep-alive and new connections."""
    (work / "cert.pem").write_bytes(leaf.cert_pem)
    (work / "key.pem").write_bytes(leaf.key_pem)
    port, admin = free_port(), free_port()
    transport = TLS_TRANSPORT.format(tls=TLS_CONTEXT, cert=work / "cert.pem", key=work / "key.pem")
    config = ENVOY_MINIMAL.format(
        admin=admin, port=port, upstream=upstream, hcm=HCM, transport=transport
    )
    (work / "envoy.yaml").write_text(config)
    args = [str(find_envoy_binary()), "-c", str(work / "envoy.yaml"), "--concurrency", "1",
            "--disable-hot-restart", "--log-level", "error"]  # fmt: skip
    envoy = subprocess.Popen(args)
    try:
        time.sleep(1.0)
        return _pair("envoy-minimal", f"https://127.0.0.1:{port}/x", work, seconds)
    finally:
        envoy.terminate()
        envoy.wait()


def _pair(label: str, url: str, work: Path, seconds: int) -> list[Result]:
    close = work / "close.lua"
    close.write_text(CLOSE_SCRIPT)
    return [
        wrk(f"{label} keep-alive", url, seconds),
        wrk(f"{label} new conn", url, seconds, close),
    ]


NO_MAPPING_STATS = (
    "apiVersion: getambassador.io/v3alpha1\nkind: Module\n"
    "metadata: {name: ambassador, namespace: default}\n"
    "spec: {config: {mapping_stats: false}}\n"
)
"""The Module that turns per-Mapping statistics off."""


def run_legation_without_mapping_stats(
    work: Path, ca: TestCA, upstream: int, seconds: int
) -> list[Result]:
    """wrk through legation with the Module's `mapping_stats: false` (no rotations)."""
    folder = work / "cfg-nostats"
    write_config(folder, ca.issue("bench.example.com"), upstream, work / "certs-nostats")
    (folder / "module.yaml").write_text(NO_MAPPING_STATS)
    https = free_port()
    with Gateway(folder, work / "legation-nostats.log", ["--https-port", str(https)]) as gw:
        gw.wait_ready(60)
        url = f"https://127.0.0.1:{https}/x"
        return _pair("legation, mapping_stats: false", url, work, seconds)


def run_legation(
    work: Path, ca: TestCA, upstream: int, seconds: int | None, samples: int
) -> tuple[list[Result], dict[str, list[float]]]:
    """wrk through legation (unless `seconds` is None), then the folder rotations."""
    folder, certs = work / "cfg", work / "certs"
    write_config(folder, ca.issue("bench.example.com"), upstream, certs)
    https = free_port()
    results: list[Result] = []
    with Gateway(folder, work / "legation.log", ["--https-port", str(https)]) as gw:
        gw.wait_ready(60)
        if seconds is not None:
            results = _pair("legation", f"https://127.0.0.1:{https}/x", work, seconds)
        sni = "bench.example.com"
        rotations = {
            "folder Secret": rotation_samples(https, ca, samples, replace_secret_file(folder), sni),
            "certificate file": rotation_samples(
                https, ca, samples, lambda leaf: replace_files(certs, leaf), FILES_SNI
            ),
        }
    return results, rotations


def report_throughput(results: list[Result], report: Report) -> None:
    """The wrk table and the ratios to the hand-written configuration."""
    rows = [[r.setup, f"{r.rps:,.0f}", f"{r.p50_ms:.2f} ms", f"{r.p99_ms:.2f} ms"] for r in results]
    say(table(rows, ["setup", "requests/s", "p50", "p99"]))
    for offset, label in ((2, ""), (4, ", mapping_stats: false")):
        for i, mode in enumerate(("keep-alive", "new conn")):
            _ratio_figure(results[offset + i], results[i], f"{mode}{label}", report)


def _ratio_figure(mine: Result, base: Result, what: str, report: Report) -> None:
    """One ratio to the hand-written configuration, printed and put in the report."""
    ratio = mine.rps / base.rps
    say(f"legation vs hand-written Envoy ({what}): {times(ratio)} (target ≥ 0.95x)")
    report.figure(
        f"HTTPS rps ({what}) vs minimal Envoy",
        f"{mine.rps:,.0f}/s",
        baseline=f"{base.rps:,.0f}/s",
        ratio=times(ratio),
        target="≥ 0.95x",
        verdict="PASS" if ratio >= 0.95 else "MISS",
    )


ROTATION_TARGETS = {"folder Secret": 0.1, "certificate file": None, "Kubernetes Secret": 0.15}
"""p50 targets (s) of each kind of certificate change; None: shown, no target."""


def report_rotations(rotations: dict[str, list[float]], report: Report) -> None:
    """p50 / p99 / max of each kind of change → new certificate served."""
    rows = []
    for what, values in rotations.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        target = ROTATION_TARGETS.get(what)
        mark = verdict(p50, target) if target is not None else "-"
        shown = f"≤ {target * 1000:g} ms" if target is not None else "-"
        rows.append([what, str(len(values)), ms(p50), ms(p99), ms(max(values)), shown, mark])
        value = f"{ms(p50)} (p99 {ms(p99)})"
        report.figure(f"{what} change → new cert p50", value, target=shown, verdict=mark)
    say("change → new certificate served (new handshakes every 5 ms):")
    say(table(rows, ["change", "n", "p50", "p99", "max", "target p50", "verdict"]))


def main() -> int:
    """Run the setups and the rotation samples; print the tables and the ratios."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per setup")
    parser.add_argument("--samples", type=int, default=30, help="certificate changes")
    parser.add_argument("--rotation-only", action="store_true", help="skip the wrk runs")
    args = parser.parse_args()
    seconds, samples = (3, 10) if args.quick else (args.seconds, args.samples)
    tools = () if args.rotation_only else ("wrk", "nginx")
    for tool in tools:
        if shutil.which(tool) is None:
            say(f"tls_bench: `{tool}` not found (apt-get install -y wrk nginx-light); skipped")
            return 0
    report = Report("tls")
    ca = TestCA("bench CA")
    with tempfile.TemporaryDirectory(prefix="legation-bench-tls-") as tmp:
        work = Path(tmp)
        upstream, proxy = free_port(), free_port()
        if args.rotation_only:
            _, rotations = run_legation(work, ca, upstream, None, samples)
        else:
            say(f"== TLS: wrk -t1 -c32, {seconds} s per setup, Envoy --concurrency 1 ==")
            with nginx_upstream(work, upstream, proxy):
                leaf = ca.issue("bench.example.com")
                results = run_envoy_minimal(work, leaf, upstream, seconds)
                mine, rotations = run_legation(work, ca, upstream, seconds, samples)
                plain = run_legation_without_mapping_stats(work, ca, upstream, seconds)
                report_throughput(results + mine + plain, report)
        kube = kubernetes_rotation(ca, samples, work, rotation_samples)
        if kube is not None:
            rotations["Kubernetes Secret"] = kube
    report_rotations(rotations, report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
