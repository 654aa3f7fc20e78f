"""Regexes are checked with RE2, the engine Envoy uses."""

from __future__ import annotations

from legation.compile.compiler import compile_config
from legation.compile.regex import regex_error
from legation.ir.provenance import Source
from legation.model.raw import RawObject


def test_re2_rejects_what_python_accepts() -> None:
    assert regex_error("/a(?=b)") == "invalid perl operator: (?="
    assert regex_error(r"(a)\1") is not None
    assert regex_error("/users/[0-9]+/profile") is None


def test_lookahead_mapping_is_an_error_on_the_mapping() -> None:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": "look"},
        "spec": {"prefix": "/a(?=b)", "prefix_regex": True, "service": "s:80"},
    }
    result = compile_config([RawObject(doc=doc, source=Source("m.yaml", 1))])
    (error,) = result.errors
    assert error.resource == "Mapping/look.default"
    assert error.field == "spec.prefix"
    assert "invalid perl operator" in error.message
    assert not result.gateway.route_configs[0].virtual_hosts[-1].routes
