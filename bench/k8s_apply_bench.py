"""Kubernetes apply benchmark: a Mapping created through the API → the route answers.

A real kube-apiserver + etcd (tests/k8s/apiserver.py; binaries from hack/k8s-assets.sh)
holds 1,000 generated Mappings (plus one fixed route) to a tiny loopback upstream; a real
`legation run --kubernetes` (`--envoy-concurrency 1`, free loopback ports) watches it.
Per sample: create a new Mapping with an HTTP POST to the API server and poll its prefix
every 2 ms over one keep-alive connection until 404 turns into 200 (apply latency); then
delete it and poll until 404 again (removal latency).

Baseline, same run: the API server's own round trip for creating a Mapping, and one poll
of an existing route. Targets: apply latency p50 ≤ 150 ms, p99 ≤ 500 ms.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.k8s.apiserver

from _common import (
    Report,
    base_parser,
    generate_mappings,
    median,
    ms,
    percentile,
    python_version,
    say,
    table,
    verdict,
)
from _gateway import Gateway, Prober
from _upstream import Upstream

from tests.k8s.apiserver import KubeApiServer, find_assets
from tests.k8s.kube import Kube

TARGET_P50_S = 0.150
TARGET_P99_S = 0.500
READY_TIMEOUT_S = 120.0
SAMPLE_TIMEOUT_S = 10.0
SETTLE_S = 0.05
NAMESPACE = "bench"
EXISTING_PATH = "/bench-existing/"


class KubeGateway(Gateway):
    """`legation run --kubernetes --kubeconfig PATH` instead of a folder."""

    def __init__(self, kubeconfig: Path, log_path: Path, extra_args: Sequence[str] = ()) -> None:
        super().__init__(kubeconfig.parent, log_path, extra_args)
        self.kubeconfig = kubeconfig

    def source_args(self) -> list[str]:
        """Read from the API server named by the kubeconfig."""
        return ["--kubernetes", "--kubeconfig", str(self.kubeconfig)]


@dataclass
class Result:
    """Everything measured."""

    existing: int
    load_s: float = 0.0
    ready_s: float = 0.0
    apply: list[float] = field(default_factory=list)
    remove: list[float] = field(default_factory=list)
    api_create: list[float] = field(default_factory=list)
    rtt: list[float] = field(default_factory=list)
    timeouts: int = 0


def mapping(name: str, prefix: str, service: str) -> dict[str, Any]:
    """A v3alpha1 Mapping object in the bench namespace."""
    return {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"prefix": prefix, "service": service},
    }


def load_existing(kube: Kube, count: int, service: str) -> None:
    """Create `count` generated Mappings (to loopback) plus the fixed one."""
    for doc in generate_mappings(count, [service]):
        body = yaml.safe_load(doc.text)
        body["metadata"]["namespace"] = NAMESPACE
        kube.create(body)
    kube.create(mapping("bench-existing", EXISTING_PATH, service))


def sample(i: int, kube: Kube, service: str, prober: Prober, result: Result) -> None:
    """One create (404 → 200) and one delete (200 → 404) through the API."""
    name, path = f"bench-new-{i}", f"/bench-new-{i}/"
    body = mapping(name, path, service)
    if prober.status(path) == 200:
        raise RuntimeError(f"{path} answers 200 before its Mapping exists")
    start = time.perf_counter()
    kube.create(body)
    result.api_create.append(time.perf_counter() - start)
    added, _ = prober.wait_for(path, 200, start, SAMPLE_TIMEOUT_S)
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    kube.delete(body)
    removed, _ = prober.wait_for(path, 404, start, SAMPLE_TIMEOUT_S)
    time.sleep(SETTLE_S)
    if added is None or removed is None:
        result.timeouts += 1
    if added is not None:
        result.apply.append(added)
    if removed is not None:
        result.remove.append(removed)


def measure(existing: int, samples: int, workdir: Path, gateway_args: Sequence[str]) -> Result:
    """Start an API server with `existing` Mappings, a gateway on it, and time `samples`."""
    result = Result(existing)
    with Upstream(1) as upstream, KubeApiServer() as server:
        kube = Kube(server)
        try:
            kube.install_crds()
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            service = f"127.0.0.1:{upstream.ports[0]}"
            start = time.perf_counter()
            load_existing(kube, existing, service)
            result.load_s = time.perf_counter() - start
            kubeconfig = server.write_kubeconfig(workdir / "kubeconfig")
            with KubeGateway(kubeconfig, workdir / "legation.log", gateway_args) as gateway:
                result.ready_s = gateway.wait_ready(READY_TIMEOUT_S)
                prober = Prober(gateway.http_port)
                try:
                    found, _ = prober.wait_for(
                        EXISTING_PATH, 200, time.perf_counter(), SAMPLE_TIMEOUT_S
                    )
                    if found is None:
                        raise RuntimeError(f"{EXISTING_PATH} never answered:\n{gateway.tail()}")
                    for _ in range(100):
                        before = time.perf_counter()
                        prober.status(EXISTING_PATH)
                        result.rtt.append(time.perf_counter() - before)
                    for i in range(samples):
                        sample(i, kube, service, prober, result)
                finally:
                    prober.close()
        finally:
            kube.close()
    return result


def report_result(result: Result, report: Report) -> None:
    """Print the figures and record the headline ones."""
    rows = []
    for what, values in (
        ("apply (create → 200)", result.apply),
        ("remove (delete → 404)", result.remove),
        ("baseline: API create round trip", result.api_create),
        ("baseline: one poll of a route", result.rtt),
    ):
        rows.append(
            [what, str(len(values)), *(ms(percentile(values, q)) for q in (50, 90, 99, 100))]
        )
    say(f"\n{result.existing:,} existing Mappings (loaded in {result.load_s:.1f} s; "
        f"gateway ready in {result.ready_s:.1f} s); timeouts: {result.timeouts}")  # fmt: skip
    say(table(rows, ["what", "n", "p50", "p90", "p99", "max"]))
    p50, p99 = percentile(result.apply, 50), percentile(result.apply, 99)
    say(f"\nTargets: apply p50 <= {TARGET_P50_S * 1000:g} ms, p99 <= {TARGET_P99_S * 1000:g} ms")
    say(f"  p50 {ms(p50)}: {verdict(p50, TARGET_P50_S)}")
    say(f"  p99 {ms(p99)}: {verdict(p99, TARGET_P99_S)}")
    baseline = ms(median(result.api_create))
    report.figure(
        f"k8s apply p50, {result.existing:,} Mappings",
        ms(p50),
        baseline=f"API create {baseline}",
        target=f"<= {TARGET_P50_S * 1000:g} ms",
        verdict=verdict(p50, TARGET_P50_S),
    )
    report.figure(
        f"k8s apply p99, {result.existing:,} Mappings",
        ms(p99),
        target=f"<= {TARGET_P99_S * 1000:g} ms",
        verdict=verdict(p99, TARGET_P99_S),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 unless it broke (or the API server binaries are missing: 0, skipped)."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "k8s apply")
    parser.add_argument("--mappings", type=int, default=1000, help="Mappings already present")
    parser.add_argument("--samples", type=int, default=100, help="timed creates")
    parser.add_argument("--gateway-arg", action="append", default=[], help="extra run argument")
    args = parser.parse_args(argv)
    if args.quick:
        args.mappings, args.samples = min(args.mappings, 200), min(args.samples, 20)
    if find_assets() is None:
        say("kube-apiserver/etcd not found (run hack/k8s-assets.sh): skipped")
        return 0
    say(f"k8s apply benchmark (python {python_version()}): {args.mappings:,} Mappings, "
        f"{args.samples} samples")  # fmt: skip
    report = Report("k8s_apply")
    with tempfile.TemporaryDirectory(prefix="legation-k8s-bench-") as tmp:
        result = measure(args.mappings, args.samples, Path(tmp), args.gateway_arg)
    report_result(result, report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
