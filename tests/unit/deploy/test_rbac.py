"""deploy/rbac.yaml grants what the controller asks for at start-up, and for leases no more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from legation.sources.kubernetes.leader import LEASE_VERBS, LEASES_GROUP
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.kubernetes.source import KubernetesSource

RBAC = Path(__file__).resolve().parents[3] / "deploy" / "rbac.yaml"


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(RBAC.read_text()) if d]


def test_leases_only_in_a_namespaced_role_with_exactly_the_verbs_used() -> None:
    lease_rules = [
        (doc["kind"], doc["metadata"].get("namespace"), rule)
        for doc in _docs()
        if doc["kind"] in ("Role", "ClusterRole")
        for rule in doc["rules"]
        if LEASES_GROUP in rule["apiGroups"]
    ]
    assert len(lease_rules) == 1
    kind, namespace, rule = lease_rules[0]
    assert (kind, namespace) == ("Role", "legation")
    assert rule["resources"] == ["leases"]
    assert sorted(rule["verbs"]) == sorted(LEASE_VERBS)
    binding = next(d for d in _docs() if d["kind"] == "RoleBinding")
    assert binding["roleRef"]["name"] == "legation-leader-election"
    assert binding["subjects"][0]["name"] == "legation"


def test_every_permission_checked_at_start_up_is_granted() -> None:
    """The preflight's (verb, resource) pairs, against the rules (namespaces aside)."""
    granted = {
        (verb, group, resource)
        for doc in _docs()
        if doc["kind"] in ("Role", "ClusterRole")
        for rule in doc["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    source = KubernetesSource(KubernetesOptions(lease_namespace="legation"))
    for need in source.needed_permissions():
        resource = f"{need.resource}/{need.subresource}" if need.subresource else need.resource
        assert (need.verb, need.group, resource) in granted, need.describe()
