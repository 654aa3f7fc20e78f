"""JWT Filters and FilterPolicies in compile: globs, per-route decisions, problems."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from legation.compile.compiler import CompileCache, compile_config
from legation.compile.filter_policy import PolicyRule, glob_path, glob_regex
from legation.compile.jwt_errors import envoy_format
from legation.compile.jwt_routes import FAIL_CLOSED, listener_rules, route_decision
from legation.envoy.translator import Translator
from legation.ir.jwt import HeaderCondition, JwtRule, RouteJwt, RulePath
from legation.ir.routes import PathKind, PathMatch, Route
from legation.model.raw import RawObject
from legation.runtime.state import route_info
from tests.unit.docs import raw_doc as _doc

JWKS = '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'


def _mapping(name: str, prefix: str, **spec: Any) -> RawObject:
    return _doc("Mapping", name, {"prefix": prefix, "service": "up:80", **spec})


def _policy(*rules: dict[str, Any], name: str = "p") -> RawObject:
    return _doc("FilterPolicy", name, {"rules": list(rules)})


def _jwt(name: str, **spec: Any) -> RawObject:
    return _doc("Filter", name, {"JWT": {"jwks": JWKS, **spec}})


def _routes(result: Any) -> dict[str, Route]:
    return {
        r.mappings[0]: r
        for rc in result.gateway.route_configs
        for vh in rc.virtual_hosts
        for r in vh.routes
    }


@pytest.mark.parametrize(
    ("glob", "text", "hit"),
    [
        ("*", "/anything/at/all", True),
        ("/api/*", "/api/a/b", True),
        ("/api/*", "/apix", False),
        ("/a.b", "/aXb", False),  # the dot is literal
        ("*.example.com", "a.b.example.com", True),
    ],
)
def test_glob_regex(glob: str, text: str, hit: bool) -> None:
    assert bool(re.fullmatch(glob_regex(glob), text)) is hit


def _route(prefix: str, kind: PathKind = PathKind.PREFIX) -> Route:
    result = compile_config([_mapping("m", prefix)])
    route = next(iter(_routes(result).values()))
    return dataclasses.replace(
        route, match=dataclasses.replace(route.match, path=PathMatch(kind, prefix))
    )


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([PolicyRule("*", "/api/*", ("a",))], RouteJwt(requirement="a")),
        ([PolicyRule("*", "/other/*", ("a",))], RouteJwt(disabled=True)),
        ([PolicyRule("*", "/api/x/*", ())], RouteJwt(by_rules=True)),  # narrower glob
        ([PolicyRule("*", "/api/*", ()), PolicyRule("*", "*", ("a",))], RouteJwt(disabled=True)),
        ([PolicyRule("*", "*", (), failure="broken")], RouteJwt(FAIL_CLOSED, failure="broken")),
        ([PolicyRule("other.example.com", "*", ("a",))], RouteJwt(disabled=True)),
        ([PolicyRule("*.example.com", "*", ("a",))], RouteJwt(by_rules=True)),  # vh `*`
    ],
)
def test_route_decision(rules: list[PolicyRule], expected: RouteJwt) -> None:
    route = _route("/api/")
    domains = ("*",) if "other" not in rules[0].host else ("api.example.com",)
    assert route_decision(route, domains, rules) == expected


def test_exact_and_regex_routes() -> None:
    exact = _route("/api/health", PathKind.EXACT)
    regex = _route("/api/.*", PathKind.REGEX)
    rule = [PolicyRule("*", "/api/*", ("a",))]
    assert route_decision(exact, ("*",), rule) == RouteJwt(requirement="a")
    assert route_decision(regex, ("*",), rule) == RouteJwt(by_rules=True)
    assert route_decision(regex, ("*",), [PolicyRule("*", "*", ("a",))]).requirement == "a"


def test_precedence_orders_rules_across_policies() -> None:
    result = compile_config(
        [
            _mapping("api", "/api/"),
            _jwt("one"),
            _jwt("two"),
            _policy({"path": "*", "filters": [{"name": "one"}]}, name="a"),
            _policy({"path": "/api/*", "precedence": 5, "filters": [{"name": "two"}]}, name="b"),
        ]
    )
    assert not result.errors
    route = _routes(result)["Mapping/api.default"]
    assert route.options.jwt == RouteJwt(requirement="default/two")


def test_no_policy_no_filter_and_routes_untouched() -> None:
    result = compile_config([_mapping("api", "/api/"), _jwt("one")])
    assert _routes(result)["Mapping/api.default"].options.jwt is None
    assert all(
        c.http is None or c.http.jwt is None
        for li in result.gateway.listeners
        for c in li.filter_chains
    )


def _errors(objects: list[RawObject]) -> list[str]:
    return [f"{p.resource} {p.field}: {p.message}" for p in compile_config(objects).errors]


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        ({"jwksURI": "ftp://x/keys"}, "spec.JWT.jwksURI", "expected an http:// or https:// URL"),
        ({"jwksURI": "https://x:99999/k"}, "spec.JWT.jwksURI", "expected an http"),
        ({"jwks": "{"}, "spec.JWT.jwks", "invalid JWK set: not JSON"),
        ({"jwks": '{"keys": [{"kty": "EC"}]}'}, "spec.JWT.jwks", "missing crv, x, y"),
        ({"jwksSecret": {"name": "nope"}}, "spec.JWT.jwksSecret", "does not exist"),
        (
            {"jwksURI": "https://x/k", "jwksCASecret": "nope"},
            "spec.JWT.jwksCASecret",
            "does not exist",
        ),
        ({"jwksURI": "http://127.0.0.1:8877/k"}, "spec.JWT.jwksURI", "own control port"),
        ({"requireAudience": True}, "spec.JWT.requireAudience", "without audience"),
    ],
)
def test_broken_filters_are_reported_and_fail_closed(
    spec: dict[str, Any], field: str, message: str
) -> None:
    has_source = {"jwksURI", "jwks", "jwksSecret"} & spec.keys()
    jwt_spec = spec if has_source else {"jwks": JWKS, **spec}
    objects = [
        _mapping("api", "/api/"),
        _doc("Filter", "f", {"JWT": jwt_spec}),
        _policy({"path": "*", "filters": [{"name": "f"}]}),
    ]
    errors = _errors(objects)
    assert any(e.startswith(f"Filter/f.default {field}") and message in e for e in errors), errors
    route = _routes(compile_config(objects))["Mapping/api.default"]
    assert route.options.jwt is not None and route.options.jwt.requirement == FAIL_CLOSED


def test_unknown_filter_and_scope_fail_closed() -> None:
    objects = [
        _mapping("a", "/a/"),
        _mapping("b", "/b/"),
        _mapping("c", "/c/"),
        _jwt("ok"),
        _policy(
            {"path": "/a/*", "filters": [{"name": "missing"}]},
            {"path": "/b/*", "filters": [{"name": "ok", "arguments": {"scope": ["read"]}}]},
            {"path": "*", "filters": [{"name": "ok"}]},
        ),
    ]
    errors = _errors(objects)
    assert any("rules.0.filters.0.name" in e and "does not exist" in e for e in errors), errors
    assert any("rules.1.filters.0.arguments" in e for e in errors), errors
    routes = _routes(compile_config(objects))
    assert routes["Mapping/a.default"].options.jwt.requirement == FAIL_CLOSED  # type: ignore[union-attr]
    assert routes["Mapping/b.default"].options.jwt.requirement == FAIL_CLOSED  # type: ignore[union-attr]
    assert routes["Mapping/c.default"].options.jwt.requirement == "default/ok"  # type: ignore[union-attr]


def test_templates_clock_skew_and_other_types() -> None:
    objects = [
        _mapping("api", "/api/"),
        _jwt(
            "f",
            leewayForExpiresAt="1500ms",
            injectRequestHeaders=[
                {"name": "X-Sub", "value": "{{ .token.Claims.sub }}"},
                {"name": "X-Hdr", "value": "{{ .token.Header.kid }}"},
            ],
        ),
        _doc("Filter", "o", {"OAuth2": {}}),
        _policy({"path": "*", "filters": [{"name": "f"}]}),
    ]
    result = compile_config(objects)
    errors = [f"{p.resource} {p.field}: {p.message}" for p in result.errors]
    assert any("injectRequestHeaders.1.value" in e for e in errors), errors
    assert any(  # an OAuth2 Filter is compiled by compile/oauth2.py: its own errors
        "Filter/o.default spec.OAuth2.clientID: is required" in e for e in errors
    )
    (jwt,) = {c.http.jwt for li in result.gateway.listeners for c in li.filter_chains if c.http}
    assert jwt is not None
    (provider,) = jwt.providers
    assert provider.clock_skew_seconds == 2  # rounded up: never less than asked
    assert [(c.header, c.claim) for c in provider.claim_headers] == [("X-Sub", "sub")]


def test_filter_parses_in_v2_and_unknown_fields_are_named() -> None:
    ok = _doc("Filter", "f", {"JWT": {"jwks": JWKS}}, version="v2")
    bad = _doc("Filter", "g", {"JWT": {"jwks": JWKS, "jwksURIs": "x"}})
    errors = _errors([ok, bad])
    assert errors == ["Filter/g.default spec.JWT.jwksURIs: unknown field; did you mean 'jwksURI'?"]


def test_remote_jwks_clusters_only_when_used() -> None:
    used = _jwt("u", jwks=None, jwksURI="https://idp.example.com/jwks")
    unused = _jwt("n", jwks=None, jwksURI="http://other.example.com/jwks")
    objects = [_mapping("api", "/api/"), used, unused, _policy({"filters": [{"name": "u"}]})]
    result = compile_config(objects)
    names = [c.name for c in result.gateway.clusters]
    assert any(n.startswith("jwks_idp_example_com_443_tls_") for n in names), names
    assert not any("other_example_com" in n for n in names), names


def test_unchanged_routes_keep_their_objects_and_bytes() -> None:
    cache, translator = CompileCache(), Translator()
    objects = [
        _mapping("a", "/a/"),
        _jwt("f"),
        _policy({"path": "/a/*", "filters": [{"name": "f"}]}),
    ]
    first = compile_config(objects, cache=cache)
    translator.translate(first.gateway)
    second = compile_config([*objects, _mapping("b", "/b/")], cache=cache)
    assert _routes(first)["Mapping/a.default"] is _routes(second)["Mapping/a.default"]
    assert _routes(second)["Mapping/b.default"].options.jwt == RouteJwt(disabled=True)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{"e": "{{ .message }}"}', '{"e": "%LOCAL_REPLY_BODY%"}'),
        ("{{.status_code}} at 100%", "%RESPONSE_CODE% at 100%%"),
        ("id {{ .request_id }}", "id %REQ(x-request-id)%"),
        ("{{ .error.Error }}", None),
        ("{{ if .message }}x{{ end }}", None),
        ("{{ .httpStatus }}", None),
    ],
)
def test_error_templates_become_envoy_format_strings(template: str, expected: str | None) -> None:
    assert envoy_format(template) == expected


def test_host_globs_are_decided_per_host() -> None:
    def host(name: str, hostname: str) -> RawObject:
        spec = {"hostname": hostname, "requestPolicy": {"insecure": {"action": "Route"}}}
        return _doc("Host", name, spec)

    objects = [
        host("foo", "foo.example.com"),
        host("bar", "bar.other.test"),
        _mapping("api", "/api/", hostname="*"),
        _jwt("f"),
        _policy({"host": "*.example.com", "path": "*", "filters": [{"name": "f"}]}),
    ]
    result = compile_config(objects)
    assert not result.errors, result.errors
    decisions = {
        vh.domains[0]: r.options.jwt
        for rc in result.gateway.route_configs
        for vh in rc.virtual_hosts
        for r in vh.routes
    }
    assert decisions["foo.example.com"] == RouteJwt(requirement="default/f")
    assert decisions["bar.other.test"] == RouteJwt(disabled=True)


def test_if_request_header_expands_into_path_rules() -> None:
    cond = HeaderCondition("x-tenant", exact="a", invert=True)  # negate: when not `a`
    rule = PolicyRule("*", "/api/*", ("base",), conditional=(("extra", cond),))
    assert route_decision(_route("/api/"), ("*",), [rule]) == RouteJwt(by_rules=True)
    holds, fails = listener_rules([rule])
    path = RulePath("prefix", "/api/")
    assert holds == JwtRule(path, None, "base+extra", (cond,))
    assert fails == JwtRule(path, None, "base", (dataclasses.replace(cond, invert=False),))


@pytest.mark.parametrize(
    ("glob", "path"),
    [
        ("*", RulePath("prefix", "/")),
        ("/api/*", RulePath("prefix", "/api/")),
        ("/api/health", RulePath("exact", "/api/health")),
        ("/api/*/x", RulePath("regex", "/api/.*/x")),
    ],
)
def test_globs_become_literal_matches_where_they_can(glob: str, path: RulePath) -> None:
    assert glob_path(glob) == path


def test_globs_envoy_would_refuse_as_regexes_fail_closed() -> None:
    long_glob = "/" + "a" * 120 + "/*/x"
    objects = [
        _mapping("a", "/a/"),
        _jwt("f"),
        _policy(
            {"path": "/a/" + "b" * 200, "filters": [{"name": "f"}]},  # long, but a literal
            {"path": long_glob, "filters": [{"name": "f"}]},
            {
                "path": "/a/*",
                "filters": [{"name": "f", "ifRequestHeader": {"name": "h", "valueRegex": "("}}],
            },
        ),
    ]
    errors = _errors(objects)
    assert any("rules.1.path: as Envoy's regex" in e and "program size" in e for e in errors), (
        errors
    )
    assert any("rules.2.filters.0.ifRequestHeader.valueRegex" in e for e in errors), errors
    assert len(errors) == 2, errors


def test_too_many_conditions_or_both_value_forms_fail_closed() -> None:
    refs = [{"name": f"f{i}", "ifRequestHeader": {"name": f"h{i}"}} for i in range(4)]
    both = {"name": "f0", "ifRequestHeader": {"name": "h", "value": "v", "valueRegex": "v.*"}}
    objects = [
        _mapping("a", "/a/"),
        _mapping("b", "/b/"),
        *(_jwt(f"f{i}") for i in range(4)),
        _policy({"path": "/a/*", "filters": refs}, {"path": "/b/*", "filters": [both]}),
    ]
    errors = _errors(objects)
    assert any("rules.0.filters: more than 3" in e for e in errors), errors
    assert any("rules.1.filters.0.ifRequestHeader: give value or valueRegex" in e for e in errors)
    routes = _routes(compile_config(objects))
    assert all(r.options.jwt.requirement == FAIL_CLOSED for r in routes.values())  # type: ignore[union-attr]


def test_route_table_says_which_jwt_applies() -> None:
    objects = [
        _mapping("a", "/a/"),
        _mapping("b", "/b/"),
        _mapping("c", "/c/"),
        _mapping("d", "/d/"),
        _jwt("f"),
        _policy(
            {"path": "/a/*", "filters": [{"name": "f"}]},
            {"path": "/b/x*", "filters": [{"name": "f"}]},
            {"path": "/c/*", "filters": [{"name": "missing"}]},
        ),
    ]
    table = {r["mappings"][0]: r["jwt"] for r in route_info(compile_config(objects).gateway)}
    assert table["Mapping/a.default"] == {"mode": "required", "providers": ["default/f"]}
    assert table["Mapping/b.default"]["mode"] == "per-request"
    assert table["Mapping/c.default"]["mode"] == "refused"
    assert table["Mapping/d.default"] == {"mode": "none"}
