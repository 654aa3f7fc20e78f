"""Compiling the new Module and Mapping fields: resolver aliases and the Module's
default resolver, DNS families, cluster tags, and the timeout default."""

from __future__ import annotations

from typing import Any

import pytest

from legation.compile.compiler import compile_config
from legation.ir.clusters import Discovery
from legation.ir.upstream import IpFamily
from legation.model.raw import RawObject
from tests.unit.compile.test_mapping_options import mapping, module


def resolver(kind: str, name: str) -> RawObject:
    doc = {"apiVersion": "getambassador.io/v3alpha1", "kind": kind, "metadata": {"name": name}}
    return RawObject(doc=doc, source=mapping("x", "/", "x").source)


def _discovery(*objects: RawObject) -> dict[str, Discovery]:
    result = compile_config(list(objects))
    assert result.errors == ()
    return {c.mappings[0]: c.discovery for c in result.gateway.clusters}


def test_endpoint_is_a_builtin_alias() -> None:
    found = _discovery(mapping("a", "/a/", "a", resolver="endpoint"))
    assert found == {"Mapping/a.default": Discovery.EDS}


def test_declaring_one_name_of_an_alias_pair_defines_the_other() -> None:
    # `consul` declared as a KubernetesServiceResolver: `consul-endpoint` names it too
    found = _discovery(
        resolver("KubernetesServiceResolver", "consul"),
        mapping("a", "/a/", "a", resolver="consul-endpoint"),
    )
    assert found == {"Mapping/a.default": Discovery.STRICT_DNS}


def test_module_resolver_is_the_default() -> None:
    found = _discovery(
        module(resolver="kubernetes-endpoint"),
        mapping("a", "/a/", "a"),
        mapping("b", "/b/", "b", resolver="kubernetes-service"),
    )
    assert found == {"Mapping/a.default": Discovery.EDS, "Mapping/b.default": Discovery.STRICT_DNS}


@pytest.mark.parametrize(
    ("module_config", "spec", "family"),
    [
        ({}, {}, None),
        ({}, {"enable_ipv6": True}, IpFamily.AUTO),
        ({"enable_ipv6": True}, {"enable_ipv4": False}, IpFamily.V6_ONLY),
        ({"enable_ipv4": True}, {}, IpFamily.V4_ONLY),
        ({"enable_ipv6": True}, {"enable_ipv6": False}, IpFamily.V4_ONLY),
    ],
)
def test_dns_family(module_config: dict[str, Any], spec: dict[str, Any], family: object) -> None:
    result = compile_config([module(**module_config), mapping("a", "/a/", "a", **spec)])
    assert [c.options.ip_family for c in result.gateway.clusters] == [family]


def test_cluster_tags_split_clusters_and_timeout_default_applies() -> None:
    result = compile_config(
        [
            module(cluster_request_timeout_ms=7000),
            mapping("a", "/a/", "s", cluster_tag="one"),
            mapping("b", "/b/", "s", cluster_tag="two", timeout_ms=100),
            mapping("c", "/c/", "s", cluster_tag="one"),
        ]
    )
    clusters = {c.name: c.mappings for c in result.gateway.clusters}
    assert sorted(clusters.values()) == [
        ("Mapping/a.default", "Mapping/c.default"),
        ("Mapping/b.default",),
    ]
    routes = {
        r.mappings[0]: r.timeout_ms for r in result.gateway.route_configs[0].virtual_hosts[0].routes
    }
    assert routes == {
        "Mapping/a.default": 7000,
        "Mapping/b.default": 100,
        "Mapping/c.default": 7000,
    }
