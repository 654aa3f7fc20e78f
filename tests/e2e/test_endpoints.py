"""Endpoint routing through a real Envoy: EndpointSlices in the folder → EDS.

A Mapping with a KubernetesEndpointResolver balances over every ready endpoint of its
Service; editing the EndpointSlices changes only the EDS resource.
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from typing import Any

import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll

TYPES = {
    "cluster": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "endpoint": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
    "listener": "type.googleapis.com/envoy.config.listener.v3.Listener",
    "route": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
}

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: quote, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: getambassador.io/v3alpha1
kind: KubernetesEndpointResolver
metadata: {name: endpoint}
"""


def slices(ports: list[int]) -> str:
    """One EndpointSlice per upstream (each listens on its own loopback port)."""
    docs = [
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": f"quote-{port}",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "quote"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": port}],
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        }
        for port in ports
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def type_versions(gw: RunningGateway) -> dict[str, str] | None:
    """Per-type version Envoy ACKed, once it ACKed everything legation wants."""
    nodes: list[dict[str, Any]] = gw.overview().get("nodes", [])
    if len(nodes) != 1:
        return None
    types: dict[str, Any] = nodes[0]["types"]
    out = {}
    for short, url in TYPES.items():
        t = types.get(url) or {}
        if not t.get("acked_version") or t.get("acked_version") != t.get("desired_version"):
            return None
        out[short] = t["acked_version"]
    return out


def answers(gw: RunningGateway, count: int) -> Counter[str]:
    """Which upstream answered each of `count` requests."""
    return Counter(gw.get("/quote/").json()["upstream"] for _ in range(count))


def test_endpoint_resolver_balances_and_follows_endpoint_changes() -> None:
    with ExitStack() as stack:
        ups = [stack.enter_context(EchoUpstream(f"u{i}")) for i in range(3)]
        ports = [u.port for u in ups]
        files = {
            "service.yaml": SERVICE,
            "slices.yaml": slices(ports),
            "mapping.yaml": mapping("quote", "quote:80", "/quote/", resolver="endpoint"),
        }
        gw = stack.enter_context(RunningGateway(files))
        gw.wait_status("/quote/", 200)
        # Round robin over every endpoint: each upstream answers within a few cycles.
        seen = answers(gw, 9)
        assert set(seen) == {"u0", "u1", "u2"}, seen
        before = poll(lambda: type_versions(gw))

        # Drop one endpoint: it gets no more traffic, and only EDS changed.
        gw.write("slices.yaml", slices(ports[:2]))
        after = poll(lambda: (v := type_versions(gw)) and v["endpoint"] != before["endpoint"] and v)
        assert {k: v for k, v in after.items() if k != "endpoint"} == {
            k: v for k, v in before.items() if k != "endpoint"
        }
        seen = answers(gw, 12)
        assert set(seen) == {"u0", "u1"}, seen

        # Add it back.
        gw.write("slices.yaml", slices(ports))
        poll(lambda: set(answers(gw, 6)) == {"u0", "u1", "u2"})
        final = poll(lambda: type_versions(gw))
        assert final == before  # same input, same content hashes


def test_endpoint_resolver_without_endpoints_answers_503() -> None:
    files = {
        "service.yaml": SERVICE,
        "mapping.yaml": mapping("ghost", "ghost", "/ghost/", resolver="endpoint"),
    }
    with RunningGateway(files) as gw:
        assert gw.wait_status("/ghost/", 503)
        notices = [n["message"] for n in gw.overview()["notices"]]
        assert any("ghost.default" in m and "503" in m for m in notices), notices
