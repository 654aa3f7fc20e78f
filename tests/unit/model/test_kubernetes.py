"""Parsing Kubernetes objects legation reads: EndpointSlice, Endpoints, Service ports."""

from __future__ import annotations

from tests.unit.model.test_parse import parse


def test_endpoint_kinds_parse_with_their_keys() -> None:
    keys, problems = parse(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {name: q-1, namespace: shop, labels: {kubernetes.io/service-name: q}}\n"
        "addressType: IPv4\nports: [{name: http, port: 80}]\n"
        "endpoints: [{addresses: [10.0.0.1]}]\n"
        "---\napiVersion: v1\nkind: Endpoints\nmetadata: {name: q}\n"
        "subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}]}]\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: q}\n"
        "spec: {ports: [{port: 80, targetPort: http}]}\n"
    )
    assert keys == ["EndpointSlice/q-1.shop", "Endpoints/q.default", "Service/q.default"]
    assert problems == []


def test_bad_endpoint_port_is_an_error_with_line() -> None:
    keys, problems = parse(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: q-1}\n"
        "ports:\n- port: 99999\n"
    )
    assert keys == []
    assert len(problems) == 1 and problems[0].startswith("f.yaml:4: error: EndpointSlice/q-1")


def test_resolvers_and_tcpmapping_are_kinds_now() -> None:
    keys, problems = parse(
        "apiVersion: getambassador.io/v2\nkind: KubernetesEndpointResolver\n"
        "metadata: {name: endpoint}\n"
        "---\napiVersion: getambassador.io/v3alpha1\nkind: TCPMapping\nmetadata: {name: t}\n"
        "spec: {port: 5432, service: 'db:5432'}\n"
    )
    assert keys == ["KubernetesEndpointResolver/endpoint.default", "TCPMapping/t.default"]
    assert problems == []
