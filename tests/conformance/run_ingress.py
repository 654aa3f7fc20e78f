"""Kubernetes Ingress conformance (kubernetes-sigs/ingress-controller-conformance features).

Runs every scenario of /work/shared/conformance/ingress/features (or `--features DIR`)
against a real kube-apiserver and `legation run --kubernetes`, with loopback echo pods
as backends, and prints `ingress conformance: N/M scenarios passed` and each failure.

    .venv/bin/python tests/conformance/run_ingress.py [-k SUBSTRING] [-v]

As in a real conformance run, legation's IngressClass is the cluster's default class
(the features' Ingresses name no class). Scenarios share one gateway; each one gets a
new namespace, and its Ingresses are deleted (and gone from Envoy) before the next.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml

from tests.conformance.cluster import Cluster, Gateway
from tests.conformance.echo import PodHost
from tests.conformance.gherkin import Scenario, Step, parse_features
from tests.conformance.steps import StepFailed, World, run_step
from tests.k8s.apiserver import KubeApiServer, find_assets
from tests.k8s.manifests import wait_established

REPO = Path(__file__).resolve().parents[2]
FEATURES = Path("/work/shared/conformance/ingress/features")
if not FEATURES.exists():  # CI lays shared/ beside the clone
    FEATURES = REPO.parent / "shared" / "conformance" / "ingress" / "features"


@dataclass(frozen=True)
class Outcome:
    """One scenario's result: None as `failure` means it passed."""

    feature: str
    scenario: str
    failure: str | None
    seconds: float


def prepare(cluster: Cluster) -> None:
    """Install legation's namespace (its leader-election Lease lives there), the CRDs and
    legation's IngressClass (as the default class)."""
    cluster.put(yaml.safe_load((REPO / "deploy" / "namespace.yaml").read_text()))
    crds = [d for d in yaml.safe_load_all((REPO / "deploy" / "crds.yaml").read_text()) if d]
    for doc in crds:
        cluster.put(doc)
    for doc in crds:
        wait_established(cluster.api, doc["metadata"]["name"])
    ingress_class = yaml.safe_load((REPO / "deploy" / "ingressclass.yaml").read_text())
    ingress_class["metadata"]["annotations"] = {
        "ingressclass.kubernetes.io/is-default-class": "true"
    }
    cluster.put(ingress_class)


def run_scenario(
    cluster: Cluster, gateway: Gateway, pods: PodHost, scenario: Scenario, background: list[Step]
) -> Outcome:
    """Background + scenario steps; the first failing step ends it."""
    started = time.monotonic()
    world = World(cluster, gateway, pods)
    failure = None
    try:
        for s in [*background, *scenario.steps]:
            try:
                run_step(world, s)
            except StepFailed as exc:
                failure = f"step {s.text!r}: {exc}"
                break
    except Exception as exc:  # a broken harness is a failure, reported like one
        failure = f"error: {type(exc).__name__}: {exc}"
    finally:
        world.cleanup()
    return Outcome(scenario.feature, scenario.name, failure, time.monotonic() - started)


def run_conformance(
    server: KubeApiServer, features_dir: Path = FEATURES, only: str = "", verbose: bool = False
) -> list[Outcome]:
    """Every scenario (whose name contains `only`) against one gateway."""
    cluster = Cluster(server)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="legation-conformance-") as tmp, PodHost() as pods:
        prepare(cluster)
        kubeconfig = server.write_kubeconfig(Path(tmp) / "kubeconfig")
        gateway = Gateway(kubeconfig, Path(tmp) / "legation.log").start()
        try:
            for feature in parse_features(features_dir):
                for scenario in feature.scenarios:
                    if only and only not in scenario.name and only not in feature.name:
                        continue
                    outcome = run_scenario(cluster, gateway, pods, scenario, feature.background)
                    outcomes.append(outcome)
                    if verbose:
                        mark = "PASS" if outcome.failure is None else "FAIL"
                        print(f"{mark} {outcome.seconds:5.1f}s {feature.name}: {scenario.name}")
        finally:
            gateway.stop()
            cluster.close()
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """The report: the pass count, then each failure with its reason."""
    passed = sum(o.failure is None for o in outcomes)
    lines = [f"ingress conformance: {passed}/{len(outcomes)} scenarios passed"]
    for o in outcomes:
        if o.failure is not None:
            lines.append(f"  FAIL {o.feature}: {o.scenario}\n       {o.failure}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start a private API server, run the scenarios, print the report."""
    parser = argparse.ArgumentParser(description="Kubernetes Ingress conformance for legation.")
    parser.add_argument("--features", type=Path, default=FEATURES)
    parser.add_argument("-k", dest="only", default="", help="only scenarios containing this")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    assets = find_assets()
    if assets is None:
        print("kube-apiserver / etcd not found: run `make k8s-assets` first", file=sys.stderr)
        return 2
    with KubeApiServer(assets=assets) as server:
        outcomes = run_conformance(server, args.features, args.only, args.verbose)
    print(summary(outcomes))
    return 0 if all(o.failure is None for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
