"""Module parsing field by field, the v1beta1 Ingress conversion, and the typed blocks
of Module fields (gzip levels, IP principals, error bodies)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from legation.model.error_response import ErrorResponseSpec
from legation.model.ingress import IngressSpec, v1beta1_to_v1
from legation.model.module import ModuleSpec
from legation.model.module_filters import GzipSpec, IpPrincipal
from legation.model.partial import validate_partially


def test_bad_fields_are_dropped_and_the_rest_kept() -> None:
    spec, errors = validate_partially(
        ModuleSpec, {"config": {"server_name": "x", "typo": 1, "xff_num_trusted_hops": "many"}}
    )
    assert isinstance(spec, ModuleSpec)
    assert spec.config.server_name == "x"
    assert spec.config.model_fields_set == {"server_name"}
    bad = {tuple(e["loc"])[:2] for exc in errors for e in exc.errors()}
    assert bad == {("config", "typo"), ("config", "xff_num_trusted_hops")}


def test_inner_keys_and_list_entries_are_dropped_alone() -> None:
    spec, _ = validate_partially(
        ModuleSpec,
        {
            "config": {
                "grpc_stats": {"all_methods": True, "i_will_not_break_envoy": True},
                "ip_deny": [{"peer": "bad"}, {"peer": "10.0.0.1"}, {"remote": "also bad"}],
                "buffer": {"max_request_time": 5},
            }
        },
    )
    assert isinstance(spec, ModuleSpec)
    assert spec.config.grpc_stats is not None and spec.config.grpc_stats.all_methods
    assert [p.network for p in spec.config.ip_deny or []] == ["10.0.0.1/32"]
    assert spec.config.buffer is None  # its required max_request_bytes is missing


def test_a_block_that_is_not_a_map_is_dropped_whole() -> None:
    spec, errors = validate_partially(ModuleSpec, {"config": "not a map"})
    assert isinstance(spec, ModuleSpec) and spec.config.model_fields_set == set()
    assert errors  # the bad block is reported


def test_v1beta1_backends_become_v1() -> None:
    spec = IngressSpec.model_validate(
        v1beta1_to_v1(
            {
                "backend": {"serviceName": "fallback", "servicePort": 80},
                "rules": [
                    {"http": {"paths": [
                        {"path": "/a", "backend": {"serviceName": "a", "servicePort": "http"}},
                        {"path": "/b", "backend": {"serviceName": "b", "servicePort": "8080"}},
                    ]}}
                ],
            }
        )
    )  # fmt: skip
    assert spec.defaultBackend is not None and spec.defaultBackend.service is not None
    assert spec.defaultBackend.service.port.number == 80
    paths = spec.rules[0].http.paths if spec.rules[0].http else []
    assert [p.pathType for p in paths] == ["ImplementationSpecific"] * 2
    assert [
        (p.backend.service.port.name, p.backend.service.port.number)
        for p in paths
        if p.backend.service
    ] == [
        ("http", None),
        (None, 8080),
    ]


@pytest.mark.parametrize(
    ("written", "envoy"),
    [
        ("BEST", "BEST_COMPRESSION"),
        ("speed", "BEST_SPEED"),
        ("COMPRESSION_LEVEL_5", "COMPRESSION_LEVEL_5"),
    ],
)
def test_gzip_levels(written: str, envoy: str) -> None:
    assert GzipSpec(compression_level=written).compression_level == envoy


def test_gzip_level_unknown_is_an_error() -> None:
    with pytest.raises(ValidationError, match="unknown compression_level"):
        GzipSpec(compression_level="MAXIMUM")


def test_ip_principals() -> None:
    assert IpPrincipal(remote="10.1.2.3/8").network == "10.0.0.0/8"
    assert IpPrincipal(peer="::1").network == "::1/128"
    assert IpPrincipal(peer="::1").kind == "peer"
    with pytest.raises(ValidationError, match="exactly one of remote, peer"):
        IpPrincipal(remote="10.0.0.1", peer="10.0.0.2")
    with pytest.raises(ValidationError, match="not an IP address"):
        IpPrincipal(remote="example.com")


def test_error_body_needs_exactly_one_format() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        ErrorResponseSpec.model_validate(
            {"on_status_code": 404, "body": {"text_format": "a", "json_format": {"b": "c"}}}
        )
    rule = ErrorResponseSpec.model_validate(
        {"on_status_code": 503, "body": {"json_format": {"retry": True, "n": 2}}}
    )
    assert rule.body.json_format == {"retry": "true", "n": "2"}
