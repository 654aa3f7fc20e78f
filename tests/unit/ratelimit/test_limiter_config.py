"""RateLimit resources → envoyproxy/ratelimit documents: shared prefixes, conflicts,
shadow mode, per-value buckets, and safe file names."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from legation.ir.provenance import Source
from legation.model.ratelimit import RateLimitSpec
from legation.model.raw import RawObject
from legation.model.resource import Resource
from legation.ratelimit.limiter_config import config_file_name, limiter_config


def rate_limit(name: str, **spec: Any) -> Resource[RateLimitSpec]:
    doc = {"apiVersion": "getambassador.io/v3alpha1", "kind": "RateLimit",
           "metadata": {"name": name}, "spec": spec}  # fmt: skip
    return Resource(
        kind="RateLimit", name=name, namespace="default", api_version=doc["apiVersion"],
        ambassador_id=("default",), spec=RateLimitSpec.model_validate(spec),
        raw=RawObject(doc=doc, source=Source("limits.yaml", 1)), spec_path="spec.",
    )  # fmt: skip


def test_shared_prefix_nests_and_empty_value_counts_each_value() -> None:
    config = limiter_config(
        [
            rate_limit("a", domain="ambassador", limits=[
                {"pattern": [{"generic_key": "api"}], "rate": 10, "unit": "Minute"},
                {"pattern": [{"generic_key": "api"}, {"remote_address": ""}], "rate": 2,
                 "unit": "second", "action": "logonly"},
            ]),
        ]
    )  # fmt: skip
    assert config.problems == []
    assert config.documents == {
        "ambassador": {
            "domain": "ambassador",
            "descriptors": [
                {
                    "key": "generic_key",
                    "value": "api",
                    "rate_limit": {"unit": "minute", "requests_per_unit": 10},
                    "descriptors": [
                        {
                            "key": "remote_address",
                            "rate_limit": {"unit": "second", "requests_per_unit": 2},
                            "shadow_mode": True,
                        }
                    ],
                }
            ],
        }
    }


def test_one_map_with_two_keys_is_two_entries_in_order() -> None:
    config = limiter_config(
        [rate_limit("a", domain="d", limits=[{"pattern": [{"k1": "v1", "k2": "v2"}], "rate": 1}])]
    )
    top = config.documents["d"]["descriptors"][0]
    assert (top["key"], top["value"], "rate_limit" in top) == ("k1", "v1", False)
    assert top["descriptors"][0]["rate_limit"] == {"unit": "minute", "requests_per_unit": 1}


def test_second_limit_on_the_same_pattern_is_an_error_on_the_later_one() -> None:
    limits = [{"pattern": [{"generic_key": "x"}], "rate": 1}]
    config = limiter_config(
        [
            rate_limit("first", domain="d", limits=limits),
            rate_limit("second", domain="d", limits=limits),
        ]
    )
    [problem] = config.problems
    assert problem.resource == "RateLimit/second.default"
    assert problem.field == "spec.limits.0.pattern"
    assert "already limited by RateLimit/first.default limit 1" in problem.message
    assert config.documents["d"]["descriptors"][0]["rate_limit"]["requests_per_unit"] == 1


def test_unsupported_fields_get_a_notice() -> None:
    config = limiter_config([rate_limit("a", domain="d", limits=[
        {"pattern": [{"k": "v"}], "rate": 1, "injectResponseHeaders": [{"name": "x", "value": "y"}]},
    ])])  # fmt: skip
    [notice] = config.problems
    assert notice.field == "spec.limits.0.injectResponseHeaders"
    assert notice.severity.value == "notice"


@pytest.mark.parametrize(
    "spec",
    [
        {"domain": "d", "limits": []},
        {"domain": "d", "limits": [{"pattern": [{"k": "v"}], "rate": 1, "unit": "week"}]},
        {"domain": "d", "limits": [{"pattern": [{"k": "v"}], "rate": -1}]},
        {"domain": "d", "limits": [{"pattern": [{"k": "v"}], "rate": 1, "action": "Drop"}]},
    ],
)
def test_bad_specs_are_refused_by_the_model(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RateLimitSpec.model_validate(spec)


def test_file_names_are_safe_and_distinct() -> None:
    names = {config_file_name(d) for d in ("ambassador", "../x", "a/b", "a%2fb", ".hidden")}
    assert len(names) == 5
    assert all("/" not in n and not n.startswith(".") for n in names)
