"""TracingService / LogService through compile and translation: what ends up on the
connection manager and the routes, which TracingService wins, and the route cache."""

from __future__ import annotations

from typing import Any

from legation.compile.compiler import CompileCache, compile_config
from legation.envoy.translator import Translator
from legation.ir.provenance import Source
from legation.model.raw import RawObject


def _doc(kind: str, name: str, **spec: Any) -> RawObject:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return RawObject(doc=doc, source=Source(f"{name}.yaml", 1))


MAPPING = _doc("Mapping", "quote", prefix="/q/", service="127.0.0.1:9000")


def _hcm(data: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = data["listeners"][0]["filter_chains"][0]["filters"][0]
    return config["typed_config"]


def _route(data: dict[str, Any]) -> dict[str, Any]:
    route: dict[str, Any] = data["routes"][0]["virtual_hosts"][0]["routes"][0]
    return route


def test_no_tracing_service_leaves_connection_manager_and_routes_alone() -> None:
    data = Translator(route_matcher="list").translate(compile_config([MAPPING]).gateway).to_data()
    assert "tracing" not in _hcm(data)
    assert "decorator" not in _route(data) and "tracing" not in _route(data)
    assert _route(data)["stat_prefix"] == "quote"


def test_module_mapping_stats_false_drops_the_route_stat_prefix_incrementally() -> None:
    cache, translator = CompileCache(), Translator(route_matcher="list")
    on = translator.translate(compile_config([MAPPING], cache=cache).gateway).to_data()
    off_module = _doc("Module", "ambassador", config={"mapping_stats": False})
    result = compile_config([MAPPING, off_module], cache=cache)
    assert not result.errors
    off = translator.translate(result.gateway).to_data()
    assert _route(on)["stat_prefix"] == "quote"
    assert "stat_prefix" not in _route(off)


def test_first_valid_tracing_service_by_key_wins_and_the_others_are_errors() -> None:
    docs = [
        MAPPING,
        _doc("TracingService", "b", service="127.0.0.1:4317", driver="opentelemetry"),
        _doc("TracingService", "a", service="http://collector/spans", driver="zipkin"),
        _doc("TracingService", "c", service="127.0.0.1:9411", driver="zipkin"),
    ]
    result = compile_config(docs)
    assert result.gateway.tracing is not None
    assert result.gateway.tracing.resource == "TracingService/b.default"
    errors = {p.resource: p.message for p in result.errors}
    assert "TracingService/a.default" in errors  # its service
    assert "only one TracingService" in errors["TracingService/c.default"]


def test_sampling_is_the_connection_managers_alone_routes_only_name_the_span() -> None:
    cache, translator = CompileCache(), Translator(route_matcher="list")

    def translate(random: float) -> dict[str, Any]:
        tracing = _doc(
            "TracingService", "t", service="127.0.0.1:9411", driver="zipkin",
            sampling={"random": random},
        )  # fmt: skip
        gateway = compile_config([MAPPING, tracing], cache=cache).gateway
        return translator.translate(gateway).to_data()

    first, second = translate(100), translate(1)
    assert _hcm(first)["tracing"]["random_sampling"] == {"value": 100.0}
    assert _hcm(second)["tracing"]["random_sampling"] == {"value": 1.0}
    # a route's own `tracing` would replace the manager's sampling: there is none
    assert "tracing" not in _route(second)
    assert _route(second)["decorator"] == {"operation": "quote"}
    assert first["routes"] == second["routes"]


def test_log_services_add_grpc_loggers_after_the_file_log_and_their_clusters() -> None:
    module = _doc("Module", "ambassador", config={"envoy_log_type": "json"})
    docs = [
        MAPPING,
        module,
        _doc("LogService", "tcp", service="127.0.0.1:9001", driver="tcp"),
        _doc("LogService", "http", service="127.0.0.1:9001", driver="http"),
    ]
    data = Translator().translate(compile_config(docs).gateway).to_data()
    loggers = [a["name"] for a in _hcm(data)["access_log"]]
    assert loggers == [
        "envoy.access_loggers.file",
        "envoy.access_loggers.http_grpc",  # LogService/http sorts first
        "envoy.access_loggers.tcp_grpc",
    ]
    clusters = [c for c in data["clusters"] if c["name"].startswith("logservice_")]
    assert len(clusters) == 1  # one service, one cluster, HTTP/2 for gRPC
    assert "typed_extension_protocol_options" in clusters[0]
