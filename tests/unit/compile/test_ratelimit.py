"""Rate limiting in compile and translate: labels → descriptors (every action, the
Module's defaults, the service's domain only), the RateLimitService (one per gateway,
its own HTTP/2 cluster, the bundled default), local limits, and the route cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from legation.compile.compiler import CompileCache, CompileOptions, compile_config
from legation.compile.labels import LabelError, parse_entry
from legation.envoy.translator import Translator
from legation.ir.provenance import Source
from legation.ir.ratelimit import DescriptorAction, DescriptorKind, LimiterDocument
from legation.model.raw import RawObject
from legation.runtime.limiter import write_documents


def doc(kind: str, name: str, spec: dict[str, Any]) -> RawObject:
    raw = {"apiVersion": "getambassador.io/v3alpha1", "kind": kind,
           "metadata": {"name": name}, "spec": spec}  # fmt: skip
    return RawObject(doc=raw, source=Source(f"{name}.yaml", 1))


def limited(name: str, labels: Any, **extra: Any) -> RawObject:
    return doc(
        "Mapping", name, {"prefix": f"/{name}/", "service": "app", "labels": labels, **extra}
    )


SERVICE = doc("RateLimitService", "rls", {"service": "rls:8081"})


def rate_limits(objects: list[RawObject], **options: Any) -> dict[str, Any]:
    """Each route's Envoy `rate_limits` (as data) by prefix, and the problems."""
    result = compile_config(objects, CompileOptions(**options))
    resources = Translator().translate(result.gateway).to_data()
    out: dict[str, Any] = {"problems": [p.describe() for p in result.problems]}
    for rc in resources["routes"]:
        for vh in rc["virtual_hosts"]:
            for route in vh.get("routes", []):
                out[route["match"]["prefix"]] = route["route"].get("rate_limits")
    out["filters"] = [
        f["name"]
        for lst in resources["listeners"]
        for chain in lst["filter_chains"]
        for f in chain["filters"][0]["typed_config"]["http_filters"]
    ]
    return out


@pytest.mark.parametrize(
    ("entry", "action"),
    [
        ("plain", DescriptorAction(DescriptorKind.GENERIC_KEY, "generic_key", value="plain")),
        ({"generic_key": {"value": "v"}}, DescriptorAction(DescriptorKind.GENERIC_KEY, "generic_key", value="v")),
        ({"generic_key": {"key": "k", "value": "v"}}, DescriptorAction(DescriptorKind.GENERIC_KEY, "k", value="v")),
        ({"remote_address": {"key": "remote_address"}}, DescriptorAction(DescriptorKind.REMOTE_ADDRESS, "remote_address")),
        ({"source_cluster": None}, DescriptorAction(DescriptorKind.SOURCE_CLUSTER, "source_cluster")),
        ({"destination_cluster": {}}, DescriptorAction(DescriptorKind.DESTINATION_CLUSTER, "destination_cluster")),
        ({"request_headers": {"key": "u", "header_name": "X-User"}}, DescriptorAction(DescriptorKind.REQUEST_HEADERS, "u", header="x-user")),
        ({"request_headers": {"key": "u", "header_name": "x", "omit_if_not_present": True}}, DescriptorAction(DescriptorKind.REQUEST_HEADERS, "u", header="x", skip_if_absent=True)),
    ],
)  # fmt: skip
def test_every_action(entry: Any, action: DescriptorAction) -> None:
    assert parse_entry(entry) == action


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"query": {"key": "q"}}, "unknown action 'query'"),
        ({"generic_key": {"key": "k"}}, "generic_key needs `value`"),
        ({"request_headers": {"key": "u"}}, "request_headers needs `header_name`"),
        ({"remote_address": {"key": "ip"}}, "under the key 'remote_address'"),
        ({"generic_key": {"value": "v", "extra": 1}}, "unknown setting 'extra'"),
        (3, "expected a string or a map"),
        (
            {"request_headers": {"key": "u", "header_name": "x", "omit_if_not_present": "yes"}},
            "true or false",
        ),
    ],
)
def test_bad_entries(entry: Any, message: str) -> None:
    with pytest.raises(LabelError, match=message):
        parse_entry(entry)


def test_domain_defaults_and_unknown_action_error_names_the_field() -> None:
    module = doc("Module", "ambassador", {"config": {
        "default_label_domain": "edge",
        "default_labels": {"edge": {"defaults": ["d"]}, "other": {"defaults": ["x"]}},
    }})  # fmt: skip
    out = rate_limits(
        [
            module,
            SERVICE,
            limited("a", {"edge": [{"g": ["one"]}, {"h": ["two"]}], "ambassador": [{"g": ["no"]}]}),
            limited("none", None),
            limited("bad", {"edge": [{"g": ["ok", {"nope": {}}]}]}),
        ]
    )
    key = {"generic_key": {"descriptor_value": "d"}}
    assert out["/a/"] == [
        {"actions": [key, {"generic_key": {"descriptor_value": "one"}}]},
        {"actions": [key, {"generic_key": {"descriptor_value": "two"}}]},
    ]
    assert out["/none/"] == [{"actions": [key]}]  # the defaults alone
    assert "/bad/" not in out
    (problem,) = out["problems"]
    assert (
        "error: Mapping/bad.default: field spec.labels.edge.0.g.1.nope: unknown action" in problem
    )
    assert out["filters"].count("envoy.filters.http.ratelimit") == 1


def test_no_service_no_filter_and_second_service_is_an_error() -> None:
    out = rate_limits([limited("a", {"ambassador": [{"g": ["x"]}]})])
    assert out["/a/"] is None and "envoy.filters.http.ratelimit" not in out["filters"]
    second = doc("RateLimitService", "rls2", {"service": "other:1"})
    result = compile_config([SERVICE, second])
    assert result.gateway.ratelimit.service is not None
    assert result.gateway.ratelimit.service.cluster.host == "rls"
    (problem,) = result.problems
    assert "RateLimitService/rls2.default" in problem.describe() and "only one" in problem.message


def test_limiter_cluster_is_http2_with_its_own_timeout() -> None:
    result = compile_config([SERVICE, limited("a", {"ambassador": [{"g": ["x"]}]})])
    clusters = Translator().translate(result.gateway).to_data()["clusters"]
    (cluster,) = [c for c in clusters if c["name"].startswith("ratelimit_")]
    assert cluster["connect_timeout"] == "1s"
    options = cluster["typed_extension_protocol_options"]
    assert "http2_protocol_options" in str(options)


def test_bundled_limiter_is_the_default_service_and_a_resource_wins() -> None:
    mapping = limited("a", {"ambassador": [{"g": ["x"]}]})
    bundled = compile_config([mapping], CompileOptions(bundled_limiter="127.0.0.1:9999"))
    service = bundled.gateway.ratelimit.service
    assert service is not None and (service.source, service.cluster.port) == ("bundled", 9999)
    given = compile_config([mapping, SERVICE], CompileOptions(bundled_limiter="127.0.0.1:9999"))
    assert given.gateway.ratelimit.service is not None
    assert given.gateway.ratelimit.service.source == "RateLimitService/rls.default"


def test_route_bytes_follow_the_service_domain() -> None:
    """The route cache keys on the limiter's domain: changing only the RateLimitService
    changes the routes' rate_limits."""
    translator = Translator()
    mapping = limited("a", {"ambassador": [{"g": ["x"]}], "edge": [{"g": ["y"]}]})

    def limits(service: RawObject) -> Any:
        gateway = compile_config([mapping, service]).gateway
        data = translator.translate(gateway).to_data()
        return data["routes"][0]["virtual_hosts"][0]["routes"][0]["route"]["rate_limits"]

    assert limits(SERVICE) == [{"actions": [{"generic_key": {"descriptor_value": "x"}}]}]
    edge = doc("RateLimitService", "rls", {"service": "rls:8081", "domain": "edge"})
    assert limits(edge) == [{"actions": [{"generic_key": {"descriptor_value": "y"}}]}]


def test_local_limit_bucket() -> None:
    local = doc("Mapping", "l", {"prefix": "/l/", "service": "app",
                                 "local_rate_limit": {"requests": 5, "unit": "minute"}})  # fmt: skip
    result = compile_config([local])
    data = Translator().translate(result.gateway).to_data()
    route = data["routes"][0]["virtual_hosts"][0]["routes"][0]
    bucket = route["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"]
    assert bucket["token_bucket"] == {"max_tokens": 5, "tokens_per_fill": 5, "fill_interval": "60s"}


def test_write_documents_replaces_and_deletes(tmp_path: Path) -> None:
    (tmp_path / "hand.yaml").write_text("domain: hand\n")
    one, two = LimiterDocument("a", "domain: a\n"), LimiterDocument("b/c", "domain: b/c\n")
    assert write_documents(tmp_path, [one, two])
    assert not write_documents(tmp_path, [one, two])  # unchanged: nothing written
    assert write_documents(tmp_path, [one])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["domain-a.yaml", "hand.yaml"]


def test_host_bucket_on_the_virtual_host_and_the_cache_sees_its_change() -> None:
    """A Host's local limit goes on its virtual host; changing only that limit changes
    the translated virtual host (the cache keys on it)."""
    translator, cache = Translator(), CompileCache()
    app = doc("Mapping", "a", {"prefix": "/a/", "service": "app", "hostname": "*"})

    def bucket(requests: int) -> Any:
        host = doc("Host", "h", {"hostname": "h.example", "local_rate_limit": {"requests": requests},
                                 "requestPolicy": {"insecure": {"action": "Route"}}})  # fmt: skip
        gateway = compile_config([host, app], cache=cache).gateway
        data = translator.translate(gateway).to_data()
        (vh,) = data["routes"][0]["virtual_hosts"]
        config = vh["typed_per_filter_config"]["envoy.filters.http.local_ratelimit"]
        return config["token_bucket"]["max_tokens"]

    assert bucket(3) == 3
    assert bucket(7) == 7


def test_service_tls_through_the_upstream_tls_code() -> None:
    """`tls: true` originates TLS to the limiter; a missing TLSContext is an error on the
    RateLimitService (and there is then no limiter)."""
    secure = doc("RateLimitService", "rls", {"service": "rls:8081", "tls": True})
    service = compile_config([secure]).gateway.ratelimit.service
    assert service is not None and service.cluster.tls and service.cluster.port == 8081
    missing = doc("RateLimitService", "rls", {"service": "rls:8081", "tls": "nope"})
    result = compile_config([missing])
    assert result.gateway.ratelimit.service is None
    (problem,) = result.problems
    assert problem.field == "spec.tls" and "TLSContext 'nope'" in problem.message


def test_host_bucket_kept_when_a_filter_policy_decides_the_routes() -> None:
    """The JWT/OIDC route decisions rebuild the virtual hosts: the Host's limit stays."""
    app = doc("Mapping", "a", {"prefix": "/a/", "service": "app", "hostname": "*"})
    host = doc("Host", "h", {"hostname": "h.example", "local_rate_limit": {"requests": 3},
                             "requestPolicy": {"insecure": {"action": "Route"}}})  # fmt: skip
    jwt = doc("Filter", "j", {"JWT": {"jwksURI": "https://idp.example/jwks.json"}})
    rule = {"host": "*", "path": "/a/*", "filters": [{"name": "j"}]}
    policy = doc("FilterPolicy", "p", {"rules": [rule]})
    gateway = compile_config([host, app, jwt, policy]).gateway
    (vh,) = [vh for rc in gateway.route_configs for vh in rc.virtual_hosts]
    assert vh.routes[0].options.jwt is not None  # the policy did decide the route
    assert vh.local_rate_limit is not None and vh.local_rate_limit.max_tokens == 3
