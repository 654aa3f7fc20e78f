"""A redirect Mapping in a canary group is never a weighted target or a mirror: it has
no upstream, so no cluster exists for it (found by tests/unit/envoy/test_invariants.py)."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.ir.provenance import Source
from legation.model.raw import RawObject


def mapping(name: str, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name},
        "spec": {"prefix": "/", **spec},
    }
    return RawObject(doc=doc, source=Source("g.yaml", 1))


def test_redirect_member_is_not_a_target_of_a_proxied_group() -> None:
    result = compile_config(
        [
            mapping("a", service="echo:8080"),
            mapping("b", service="10.0.0.1:80", host_redirect=True),
            mapping("c", service="mirror:80", host_redirect=True, shadow=True),
        ]
    )
    clusters = {c.name for c in result.gateway.clusters}
    (route,) = [r for vh in result.gateway.route_configs[0].virtual_hosts for r in vh.routes]
    assert [(t.cluster, t.weight) for t in route.targets] == [("cluster_echo_8080", 100)]
    assert all(m.cluster in clusters for m in route.mirrors)
    assert {t.cluster for t in route.targets} <= clusters
