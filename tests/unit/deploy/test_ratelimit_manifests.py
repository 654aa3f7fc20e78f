"""deploy/ratelimit.yaml: Redis and the limiter as their own Deployments and Services,
each with probes; the Services select their Deployments' pods; the RateLimitService
and the limiter agree on the address and the domain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from legation.model.ratelimit import RateLimitServiceSpec

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "ratelimit.yaml"


def _docs() -> dict[tuple[str, str], dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def test_deployments_have_probes_and_services_select_them() -> None:
    docs = _docs()
    for name in ("legation-redis", "legation-ratelimit"):
        deployment, service = docs[("Deployment", name)], docs[("Service", name)]
        pod = deployment["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        assert container["readinessProbe"] and container["livenessProbe"]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        ports = {p["name"] for p in container["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_rate_limit_service_points_at_the_limiter() -> None:
    docs = _docs()
    spec = RateLimitServiceSpec.model_validate(
        docs[("RateLimitService", "legation-ratelimit")]["spec"]
    )
    host, port = spec.service.rsplit(":", 1)
    assert host.split(".")[0] == "legation-ratelimit" and port == "8081"
    config = docs[("ConfigMap", "legation-ratelimit-config")]["data"]
    domains = {yaml.safe_load(text)["domain"] for text in config.values()}
    assert spec.domain in domains
    env = {
        e["name"]: e["value"]
        for e in docs[("Deployment", "legation-ratelimit")]["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["REDIS_URL"].startswith("legation-redis:")
