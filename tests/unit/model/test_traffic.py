"""The typed Mapping sub-objects: values they accept, and the messages for bad ones."""

from __future__ import annotations

import pytest

from legation.model.durations import parse_duration_ms
from legation.model.parse import parse_object
from legation.model.yamldocs import parse_documents


def problems_of(spec_yaml: str) -> list[str]:
    """Problem lines for one v3alpha1 Mapping whose spec adds `spec_yaml` (flow style)."""
    text = (
        "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: m}\n"
        f"spec: {{prefix: /, service: s, {spec_yaml}}}\n"
    )
    objects, problems = parse_documents(text, "f.yaml")
    assert not problems
    return [p.describe() for p in parse_object(objects[0]).problems]


def one_problem(spec_yaml: str) -> str:
    found = problems_of(spec_yaml)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "ms"),
    [("5s", 5000), ("250ms", 250), ("1m30s", 90000), ("1.5s", 1500), ("2", 2000), (3, 3000),
     ("1h", 3_600_000), ("100us", 0)],
)  # fmt: skip
def test_durations(text: str | int, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["soon", "5 parsecs", "s", "", "-1s", "5s garbage"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ms(text)


def test_valid_traffic_settings_load_without_problems() -> None:
    assert (
        problems_of(
            "retry_policy: {retry_on: '5xx,reset', num_retries: 2, per_try_timeout: 1s},"
            "cors: {origins: 'http://a,http://b', methods: [GET], max_age: 60, credentials: true},"
            "load_balancer: {policy: ring_hash, cookie: {name: c, ttl: 10s}},"
            "circuit_breakers: [{priority: high, max_requests: 5}],"
            "outlier_detection: {consecutive_5xx: 3, interval: 2s},"
            "health_checks: [{health_check: {http: {path: /h, expected_statuses: [{min: 200, max: 204}]}}}],"
            "keepalive: {time: 30, interval: 5, probes: 3},"
            "allow_upgrade: websocket, redirect_response_code: 307, dns_type: logical_dns"
        )
        == []
    )


def test_unknown_sub_field_suggests_the_right_one() -> None:
    assert one_problem("circuit_breakers: [{max_conections: 1}]").endswith(
        "field spec.circuit_breakers.0.max_conections: unknown field; did you mean 'max_connections'?"
    )
    assert one_problem("cors: {origin: x}").endswith(
        "field spec.cors.origin: unknown field; did you mean 'origins'?"
    )
    assert one_problem("load_balancer: {policy: maglev, header: h, cookie: {name: c, tttl: 1s}}")


def test_unknown_sub_field_lists_what_is_allowed() -> None:
    assert one_problem("keepalive: {zzz: 1}").endswith(
        "field spec.keepalive.zzz: unknown field; expected one of idle_time, interval, probes"
    )


def test_retry_on_must_name_known_conditions() -> None:
    message = one_problem("retry_policy: {retry_on: sometimes}")
    assert "field spec.retry_policy.retry_on: unknown retry condition(s) ['sometimes']" in message
    assert "gateway-error" in message


def test_bad_duration_names_the_field() -> None:
    message = one_problem("retry_policy: {retry_on: 5xx, per_try_timeout: soon}")
    assert "field spec.retry_policy.per_try_timeout: invalid duration 'soon'" in message


def test_hashing_needs_a_consistent_hash_policy() -> None:
    assert one_problem("load_balancer: {policy: round_robin, cookie: {name: c}}").endswith(
        "field spec.load_balancer: cookie hashing needs policy ring_hash or maglev, not round_robin"
    )
    assert "set only one of cookie, header, source_ip" in one_problem(
        "load_balancer: {policy: ring_hash, header: h, source_ip: true}"
    )


def test_health_check_kind_exactly_one() -> None:
    assert "set exactly one of http, grpc, tcp (got none)" in one_problem(
        "health_checks: [{health_check: {}}]"
    )
    assert "only one health check per Mapping" in one_problem(
        "health_checks: [{health_check: {tcp: {}}}, {health_check: {tcp: {}}}]"
    )


def test_redirect_code_and_dns_type_are_enumerations() -> None:
    assert "Input should be 301, 302, 303, 307 or 308 (got 305)" in one_problem(
        "redirect_response_code: 305"
    )
    assert "Input should be 'strict_dns' or 'logical_dns'" in one_problem("dns_type: magic")


def test_cors_max_age_is_seconds() -> None:
    assert "max_age must be a number of seconds" in one_problem("cors: {max_age: soon}")


def test_status_range_order() -> None:
    message = one_problem(
        "health_checks: [{health_check: {http: {path: /, expected_statuses: [{min: 300, max: 200}]}}}]"
    )
    assert "max (200) must not be below min (300)" in message


def test_module_defaults_are_typed_too() -> None:
    text = (
        "apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {name: ambassador}\n"
        "spec: {config: {retry_policy: {retry_on: 5xx, num_retrys: 2}, regex_type: fancy}}\n"
    )
    objects, _ = parse_documents(text, "f.yaml")
    messages = [p.describe() for p in parse_object(objects[0]).problems]
    assert any(
        "config.retry_policy.num_retrys: unknown field; did you mean 'num_retries'" in m
        for m in messages
    )
    assert any("config.regex_type: Input should be 'safe' or 'unsafe'" in m for m in messages)
