"""A regex whose RE2 program is over Envoy's size limit is the Mapping field's error."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import compile_config
from legation.compile.regex import ENVOY_MAX_PROGRAM_SIZE, regex_error
from legation.ir.provenance import Source
from legation.model.raw import RawObject

BIG = "/items/[0-9]{120}"  # RE2 program size 131
CASE_BOUND = (  # RE2 program size 83 as written, 106 case-insensitive
    "/api/v1/customers/[0-9]+/orders/[0-9]+/items/[0-9]+/details/history/[0-9]+"
    "/versions/[0-9]+/notes/[a-z]+"
)


def mapping(name: str, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "Mapping",
        "metadata": {"name": name},
        "spec": {"service": "s:80", **spec},
    }
    return RawObject(doc=doc, source=Source("m.yaml", 1))


def test_size_over_the_limit_is_an_error_naming_size_and_limit() -> None:
    message = regex_error(BIG)
    assert message is not None
    assert "131" in message and str(ENVOY_MAX_PROGRAM_SIZE) in message
    assert regex_error("/users/[0-9]+/profile") is None


def test_case_insensitive_matching_is_measured_as_envoy_gets_it() -> None:
    assert regex_error(CASE_BOUND) is None
    message = regex_error(CASE_BOUND, case_sensitive=False)
    assert message is not None and "106" in message


def test_every_regex_field_reports_the_size() -> None:
    result = compile_config(
        [
            mapping("prefix", prefix=BIG, prefix_regex=True),
            mapping("nocase", prefix=CASE_BOUND, prefix_regex=True, case_sensitive=False),
            mapping("header", prefix="/h/", regex_headers={"x-id": BIG}),
            mapping("query", prefix="/q/", regex_query_parameters={"id": BIG}),
            mapping("rewrite", prefix="/r/", regex_rewrite={"pattern": BIG, "substitution": "/"}),
            mapping("host", prefix="/host/", host=BIG, host_regex=True),
            mapping(
                "redirect",
                prefix="/redir/",
                host_redirect=True,
                regex_redirect={"pattern": BIG, "substitution": "/"},
            ),
            mapping("fine", prefix="/users/[0-9]+", prefix_regex=True),
        ]
    )
    fields = {e.resource: e.field for e in result.errors}
    assert fields == {
        "Mapping/prefix.default": "spec.prefix",
        "Mapping/nocase.default": "spec.prefix",
        "Mapping/header.default": "spec.regex_headers.x-id",
        "Mapping/query.default": "spec.regex_query_parameters.id",
        "Mapping/rewrite.default": "spec.regex_rewrite.pattern",
        "Mapping/host.default": "spec.host",
        "Mapping/redirect.default": "spec.regex_redirect.pattern",
    }
    assert all("RE2 program size" in e.message for e in result.errors)
    routed = {
        t.mapping
        for vh in result.gateway.route_configs[0].virtual_hosts
        for r in vh.routes
        for t in r.targets
    }
    assert routed == {"Mapping/fine.default"}
