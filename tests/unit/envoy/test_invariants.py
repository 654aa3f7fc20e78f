"""Invariants of the translated output over random configurations (hypothesis).

Whatever mix of valid and invalid Mappings, TCPMappings, resolvers and endpoints
goes in: every cluster a route, mirror or TCP proxy references exists, every route
configuration a listener names exists, every endpoint set belongs to a cluster, and
Envoy itself (`envoy --mode validate`) accepts a sample of the outputs as a static
bootstrap. Also: the regex program-size limit `check` applies is Envoy's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legation.compile.compiler import CompileOptions, compile_config
from legation.compile.regex import ENVOY_MAX_PROGRAM_SIZE, regex_error
from legation.envoy.binary import EnvoyBinaryNotFound, find_envoy_binary
from legation.envoy.resources import XdsResources, message_to_data
from legation.envoy.translator import Translator
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from tests.unit.envoy.static_bootstrap import envoy_validate, static_bootstrap

PREFIXES = ["/", "/a/", "/a/b/", "/api/", "/x", "/a/b/c/"]
REGEXES = ["/users/[0-9]+", "/a/.*", "/(v1|v2)/items", "/a(?=b)", "/items/[0-9]{120}"]
SERVICES = [
    "echo:8080",
    "10.0.0.1:80",
    "https://secure.example:443",
    "quote.shop",
    "127.0.0.1:8877",  # the diagnostics port: refused
    "http://",  # malformed
]
HOSTS = [None, "a.example", "*.example", "b.example:8080"]


def _doc(kind: str, name: str, spec: dict[str, Any], api: str = "getambassador.io/v3alpha1") -> Any:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}


@st.composite
def mapping_spec(draw: st.DrawFn) -> dict[str, Any]:
    regex = draw(st.booleans())
    spec: dict[str, Any] = {
        "prefix": draw(st.sampled_from(REGEXES if regex else PREFIXES)),
        "service": draw(st.sampled_from(SERVICES)),
    }
    if regex:
        spec["prefix_regex"] = True
        spec["case_sensitive"] = draw(st.booleans())
    optional: dict[str, Any] = {
        "host": st.sampled_from(HOSTS[1:]),
        "weight": st.sampled_from([0, 10, 50, 100]),
        "shadow": st.just(True),
        "headers": st.just({"x-env": "prod"}),
        "regex_headers": st.sampled_from([{"x-id": "[0-9]+"}, {"x-id": "(?=a)"}]),
        "method": st.sampled_from(["GET", "POST"]),
        "precedence": st.integers(-2, 2),
        "rewrite": st.sampled_from(["", "/", "/v2/"]),
        "timeout_ms": st.sampled_from([100, 5000]),
        "host_redirect": st.just(True),
        "resolver": st.just("endpoint"),
        "remove_request_headers": st.just(["x-forwarded-for"]),
    }
    for name in draw(st.sets(st.sampled_from(sorted(optional)), max_size=4)):
        spec[name] = draw(optional[name])
    return spec


@st.composite
def configuration(draw: st.DrawFn) -> list[RawObject]:
    """Mappings (valid or not), maybe TCPMappings, a resolver and endpoints."""
    docs = [
        _doc("Mapping", f"m{i}", spec)
        for i, spec in enumerate(draw(st.lists(mapping_spec(), min_size=1, max_size=10)))
    ]
    for i in range(draw(st.integers(0, 3))):
        spec = {
            "port": draw(st.sampled_from([9000, 9001, 8080])),
            "service": draw(st.sampled_from(SERVICES)),
        }
        if draw(st.booleans()):
            spec["host"] = draw(st.sampled_from(["db.example", "cache.example"]))
        if draw(st.booleans()):
            spec["weight"] = draw(st.sampled_from([10, 90]))
        docs.append(_doc("TCPMapping", f"t{i}", spec))
    if draw(st.booleans()):
        docs.append(_doc("KubernetesEndpointResolver", "endpoint", {}))
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": "quote", "namespace": "shop"},
                "subsets": [{"addresses": [{"ip": "10.0.0.7"}], "ports": [{"port": 8080}]}],
            }
        )
    return [RawObject(doc=d, source=Source("random.yaml", i + 1)) for i, d in enumerate(docs)]


def _translate(objects: list[RawObject], matcher: str) -> XdsResources:
    compiled = compile_config(objects, CompileOptions())
    return Translator(matcher).translate(compiled.gateway)


def _walk(data: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(data, list):
        for value in data:
            yield from _walk(value)


def referenced_clusters(resources: XdsResources) -> set[str]:
    """Clusters named by routes (also inside matcher trees), mirrors and TCP proxies."""
    names: set[str] = set()
    data = [message_to_data(m) for m in [*resources.routes.values(), *resources.listeners.values()]]
    for key, value in _walk(data):
        if key == "cluster" and isinstance(value, str):
            names.add(value)
        elif key == "weighted_clusters":
            names.update(c["name"] for c in value["clusters"])
    return names


def named_route_configs(resources: XdsResources) -> set[str]:
    """Route configurations that listeners ask for over RDS."""
    data = [message_to_data(m) for m in resources.listeners.values()]
    return {v["route_config_name"] for k, v in _walk(data) if k == "rds"}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configuration(), st.sampled_from(["list", "tree", "auto"]))
def test_every_reference_resolves(objects: list[RawObject], matcher: str) -> None:
    resources = _translate(objects, matcher)
    assert resources.listeners, "the HTTP listener is always there"
    missing = referenced_clusters(resources) - set(resources.clusters)
    assert not missing, f"routes reference clusters that do not exist: {missing}"
    assert named_route_configs(resources) <= set(resources.routes)
    for name, assignment in resources.endpoints.items():
        assert message_to_data(assignment)["cluster_name"] == name
        assert name in resources.clusters, f"endpoints for a cluster that does not exist: {name}"


@pytest.fixture(scope="module")
def envoy_available() -> None:
    try:
        find_envoy_binary()
    except EnvoyBinaryNotFound as exc:
        pytest.skip(str(exc))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configuration(), st.sampled_from(["list", "tree"]))
def test_envoy_accepts_the_output(
    envoy_available: None, objects: list[RawObject], matcher: str
) -> None:
    """`envoy --mode validate` accepts a sample of translated outputs, inline."""
    ok, output = envoy_validate(static_bootstrap(_translate(objects, matcher)))
    assert ok, output


def _with_prefix_regex(pattern: str) -> Any:
    """A bootstrap with one regex route, `pattern` put in after the compiler's check."""
    doc = _doc("Mapping", "r", {"prefix": "/PLACEHOLDER", "prefix_regex": True, "service": "e:80"})
    bootstrap = static_bootstrap(
        _translate([RawObject(doc=doc, source=Source("r.yaml", 1))], "list")
    )
    text = json_format.MessageToJson(bootstrap).replace("/PLACEHOLDER", pattern)
    return json_format.Parse(text, type(bootstrap)())


def test_program_size_limit_is_envoys(envoy_available: None) -> None:
    """RE2 program size 100 passes both `check` and Envoy; 101 fails both."""
    at_limit, over = "/" + "a" * 95, "/" + "a" * 96
    assert regex_error(at_limit) is None
    assert regex_error(over) is not None and str(ENVOY_MAX_PROGRAM_SIZE + 1) in regex_error(over)
    accepted, output = envoy_validate(_with_prefix_regex(at_limit))
    assert accepted, output
    rejected, output = envoy_validate(_with_prefix_regex(over))
    assert not rejected
    assert "program size of 101 > max program size of 100" in output


def test_a_mapping_left_out_of_its_group_takes_its_eds_endpoints_along() -> None:
    """Found by test_every_reference_resolves: a Mapping with the endpoint resolver,
    refused because a redirect Mapping took its canary group, left its endpoints behind
    (EDS for a cluster that does not exist)."""
    specs = [
        ("m0", {"prefix": "/", "service": "echo:8080", "host_redirect": True}),
        ("m1", {"prefix": "/", "service": "echo:8080", "resolver": "endpoint"}),
    ]
    objects = [
        RawObject(doc=_doc("Mapping", name, spec), source=Source("in.yaml", i + 1))
        for i, (name, spec) in enumerate(specs)
    ]
    result = compile_config(objects)
    assert any("cannot accept m1" in p.message for p in result.errors)
    resources = Translator(route_matcher="list").translate(result.gateway)
    assert set(resources.endpoints) <= set(resources.clusters)
