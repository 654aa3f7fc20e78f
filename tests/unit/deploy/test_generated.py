"""deploy/crds.yaml and deploy/legation.yaml are generated: they must be up to date,
and the CRD schemas must be structural (what the API server demands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from legation.deploy import bundle, crds

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_crds_yaml_is_up_to_date() -> None:
    """Regenerate with `make crds` when a model changes."""
    assert (DEPLOY / "crds.yaml").read_text() == crds.render(), "run `make deploy`"


def test_bundle_is_up_to_date() -> None:
    """Regenerate with `make deploy` when any part changes (rbac.yaml included)."""
    assert (DEPLOY / "legation.yaml").read_text() == bundle.render(DEPLOY), "run `make deploy`"


def _walk(node: dict[str, Any], where: str) -> list[str]:
    """Places where a schema node breaks the structural rules we rely on."""
    bad = []
    for banned in ("$ref", "anyOf", "oneOf", "allOf", "default", "additionalProperties"):
        if banned in node and not (
            banned == "additionalProperties" and isinstance(node[banned], dict)
        ):
            bad.append(f"{where}: {banned}")
    free = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string"
    )
    if "type" not in node and not free:
        bad.append(f"{where}: no type")
    for name, sub in node.get("properties", {}).items():
        bad += _walk(sub, f"{where}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        bad += _walk(node["additionalProperties"], f"{where}[*]")
    if "items" in node:
        bad += _walk(node["items"], f"{where}[]")
    return bad


@pytest.mark.parametrize("doc", crds.all_crds(), ids=lambda d: d["spec"]["names"]["kind"])
def test_schemas_are_structural(doc: dict[str, Any]) -> None:
    """Every node typed (or explicitly free), no refs or unions, no defaults."""
    versions = doc["spec"]["versions"]
    assert [v["name"] for v in versions] == ["v2", "v3alpha1"]
    assert [v["storage"] for v in versions] == [False, True]
    assert doc["spec"]["conversion"] == {"strategy": "None"}
    for version in versions:
        assert _walk(version["schema"]["openAPIV3Schema"], "") == []


def test_mapping_schema_follows_the_model() -> None:
    """Required fields, integer types, enums and bounds come from MappingSpec."""
    (mapping,) = [d for d in crds.all_crds() if d["spec"]["names"]["kind"] == "Mapping"]
    spec = mapping["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["prefix", "service"]
    props = spec["properties"]
    assert props["precedence"] == {"type": "integer"}
    assert props["weight"]["maximum"] == 100
    assert props["load_balancer"]["properties"]["policy"]["enum"][0] == "round_robin"
    # a before-validator accepts one string or a list: any value, checked by legation
    assert props["remove_request_headers"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert "ambassador_id" in props


def test_bundle_order_installs_in_one_pass() -> None:
    """Namespace and CRDs before what uses them; every part appears."""
    kinds = [d["kind"] for d in yaml.safe_load_all(bundle.render(DEPLOY)) if d]
    assert kinds[0] == "Namespace"
    assert kinds.index("Deployment") > kinds.index("ServiceAccount")
    assert kinds.count("CustomResourceDefinition") == len(crds.KINDS)
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "IngressClass"} <= set(kinds)


def _crd(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in crds.all_crds() if d["spec"]["names"]["kind"] == kind]
    return doc


def _spec_schema(kind: str) -> dict[str, Any]:
    props = _crd(kind)["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]
    spec: dict[str, Any] = props["spec"]
    return spec


def test_listener_schema_follows_the_model() -> None:
    """Required fields, enums (UDP included, refused later by compile) and bounds."""
    spec = _spec_schema("Listener")
    assert spec["required"] == ["hostBinding", "port", "securityModel"]
    props = spec["properties"]
    assert props["port"]["minimum"] == 1 and props["port"]["maximum"] == 65535
    assert props["securityModel"]["enum"] == ["XFP", "SECURE", "INSECURE"]
    assert "UDP" in props["protocol"]["enum"] and "TLS" in props["protocolStack"]["items"]["enum"]
    namespace = props["hostBinding"]["properties"]["namespace"]
    assert namespace["properties"]["from"]["enum"] == ["SELF", "ALL", "SELECTOR"]
    # fields of Emissary's that legation does not model are kept, not pruned
    assert spec["x-kubernetes-preserve-unknown-fields"] is True


def test_host_and_tlscontext_schemas_follow_the_models() -> None:
    host = _spec_schema("Host")["properties"]
    assert host["tlsSecret"]["required"] == ["name"]
    assert host["mappingSelector"]["properties"]["matchLabels"]["additionalProperties"] == {
        "type": "string"
    }
    assert host["tls"]["properties"]["cipher_suites"]["items"] == {"type": "string"}
    assert host["acmeProvider"] == {"x-kubernetes-preserve-unknown-fields": True}
    context = _spec_schema("TLSContext")["properties"]
    assert context["hosts"]["type"] == "array" and context["secret"]["type"] == "string"
    # a string or a list: any value, checked by legation
    assert context["alpn_protocols"]["x-kubernetes-preserve-unknown-fields"] is True
    assert "ambassador_id" in context


def test_printer_columns_as_emissary() -> None:
    """`kubectl get hosts` / `listeners` show what Emissary's show (spec columns only)."""

    def columns(kind: str) -> list[tuple[str, str]]:
        version = _crd(kind)["spec"]["versions"][1]
        return [(c["name"], c["jsonPath"]) for c in version.get("additionalPrinterColumns", [])]

    status = [
        ("State", ".status.state"),
        ("Reason", '.status.conditions[?(@.type=="Accepted")].reason'),
        ("Age", ".metadata.creationTimestamp"),
    ]  # every kind ends with its status (resource status, written by the leader)
    assert columns("Host") == [("Hostname", ".spec.hostname"), *status]
    assert [name for name, _ in columns("Listener")] == [
        "Port", "Protocol", "Stack", "StatsPrefix", "Security", "L7Depth", "State", "Reason",
        "Age",
    ]  # fmt: skip
    assert columns("TLSContext") == status
