"""TracingService end to end: real Envoy exports spans to a real Jaeger, the upstream
gets the trace context (and reports its own span into the same trace), sampling is
honoured, and a change of TracingService applies over xDS without restarting Envoy."""

from __future__ import annotations

import time
import uuid
from typing import Any

import yaml

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.jaeger import Jaeger, UpstreamSpans, service_of, span_tags
from tests.e2e.load import Load


def tracing_service(service: str, driver: str, **spec: Any) -> str:
    """A TracingService as YAML text."""
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": "TracingService",
        "metadata": {"name": "tracing", "namespace": "default"},
        "spec": {"service": service, "driver": driver, **spec},
    }
    return "---\n" + yaml.safe_dump(doc, sort_keys=False)


def _spans(jaeger: Jaeger, service: str, operation: str) -> list[tuple[dict[str, Any], Any]]:
    """(trace, span) for every span of `operation` reported by `service`."""
    out = []
    for trace in jaeger.traces(service):
        for span in trace["spans"]:
            if span["operationName"] == operation and service_of(trace, span) == service:
                out.append((trace, span))
    return out


def _sent(gw: RunningGateway, up: EchoUpstream, path: str) -> dict[str, str]:
    """GET `/beta/<path>` (unique) and return the headers the upstream got with it
    (found by path: the background load reaches the same upstream meanwhile)."""
    assert gw.get(f"/beta/{path}").status_code == 200
    return next(h for _, p, h in reversed(up.requests) if p == f"/{path}")


def _w3c(gw: RunningGateway, up: EchoUpstream) -> dict[str, str] | None:
    """The headers of a fresh request if they carry W3C trace context."""
    headers = _sent(gw, up, f"w3c/{uuid.uuid4().hex}")
    return headers if "traceparent" in headers else None


def _sampled(gw: RunningGateway, up: EchoUpstream, count: int) -> int:
    """How many of `count` requests reached the upstream marked sampled (B3)."""
    marks = [_sent(gw, up, f"one-percent/{uuid.uuid4().hex}") for _ in range(count)]
    return sum(h.get("x-b3-sampled") == "1" for h in marks)


def test_opentelemetry_spans_reach_jaeger_and_the_upstream_joins_the_trace() -> None:
    with Jaeger() as jaeger:
        spans = UpstreamSpans(jaeger, "echo-upstream")
        with EchoUpstream("a", on_request=spans.on_request) as up:
            files = {
                "m.yaml": mapping("alpha", up.service, "/alpha/"),
                "t.yaml": tracing_service(
                    jaeger.otlp_service,
                    "opentelemetry",
                    config={"service_name": "edge-otel"},
                    custom_tags=[{"tag": "team", "literal": {"value": "payments"}}],
                    tag_headers=["x-user"],
                ),
            }
            with RunningGateway(files) as gw:
                for i in range(3):
                    assert gw.get(f"/alpha/{i}", headers={"x-user": "ada"}).status_code == 200
                found = poll(lambda: len(_spans(jaeger, "edge-otel", "alpha")) >= 3, timeout=30)
                assert found
                gateway_spans = _spans(jaeger, "edge-otel", "alpha")
                span = gateway_spans[0][1]
                tags = span_tags(span)
                assert tags["legation.route"].startswith("route-")  # the route that served it
                assert tags["upstream_cluster"] == f"cluster_127_0_0_1_{up.port}"
                assert tags["team"] == "payments" and tags["x-user"] == "ada"
                # the upstream got W3C trace context naming Envoy's trace
                parents = [h.get("traceparent", "") for _, _, h in up.requests]
                assert len(parents) == 3 and all(p.startswith("00-") for p in parents)
                trace_ids = {p.split("-")[1] for p in parents}
                assert {t["traceID"] for t, _ in gateway_spans} >= trace_ids
                # ... and its own span joined that trace, as a child of Envoy's span
                spans.close()

                def joined() -> bool:
                    for t in jaeger.traces("echo-upstream"):
                        for s in t["spans"]:
                            if service_of(t, s) != "echo-upstream" or t["traceID"] not in trace_ids:
                                continue
                            refs = {r["spanID"] for r in s.get("references", [])}
                            gateway_ids = {g["spanID"] for _, g in gateway_spans}
                            if refs & gateway_ids:
                                return True
                    return False

                assert poll(joined, timeout=30)


def test_zipkin_sampling_and_a_live_change_of_tracing_service() -> None:
    with Jaeger() as jaeger, EchoUpstream("a") as up:
        files = {
            "m.yaml": mapping("alpha", up.service, "/alpha/")
            + mapping("beta", up.service, "/beta/"),
            "t.yaml": tracing_service(jaeger.zipkin_service, "zipkin"),
        }
        with RunningGateway(files) as gw:
            pid = gw.overview()["envoy"]["pid"]
            with Load(gw.url(""), ["/alpha/load"], pause_s=0.02) as load:
                # 100 %: B3 context upstream, spans in Jaeger (zipkin reports the node
                # cluster, `legation`, as the service)
                b3 = _sent(gw, up, "1")
                assert len(b3["x-b3-traceid"]) == 32 and b3.get("x-b3-sampled") == "1"
                poll(lambda: _spans(jaeger, "legation", "beta"), timeout=30)

                # 0 %: still propagated, marked unsampled, nothing exported
                gw.write("t.yaml", tracing_service(jaeger.zipkin_service, "zipkin",
                                                   sampling={"random": 0}))  # fmt: skip

                def unsampled() -> bool:
                    return _sent(gw, up, f"probe/{uuid.uuid4().hex}").get("x-b3-sampled") == "0"

                poll(unsampled, timeout=15, interval=0.1)
                for i in range(10):
                    assert gw.get(f"/beta/unsampled/{i}").status_code == 200
                # 1 %: about 1 request in 100 is traced (the route's own sampling is in
                # Envoy's ten-thousandths; finer units would trace them all)
                gw.write("t.yaml", tracing_service(jaeger.zipkin_service, "zipkin",
                                                   sampling={"random": 1}))  # fmt: skip
                poll(lambda: _sampled(gw, up, 50) <= 10, timeout=15, interval=0.1)
                assert _sampled(gw, up, 300) <= 15  # 3 expected; 100 % would be 300
                # a different driver, live: OpenTelemetry, W3C context, a new service name
                gw.write("t.yaml", tracing_service(jaeger.otlp_service, "opentelemetry",
                                                   config={"service_name": "edge-2"}))  # fmt: skip
                w3c = poll(lambda: _w3c(gw, up), timeout=15, interval=0.1)
                assert "x-b3-traceid" not in w3c
                poll(lambda: _spans(jaeger, "edge-2", "beta"), timeout=30)
            time.sleep(6)  # past Envoy's zipkin flush interval (5 s)
            urls = [span_tags(s).get("http.url", "") for _, s in _spans(jaeger, "legation", "beta")]
            assert any(u.endswith("/beta/1") for u in urls)  # sampled at 100 %
            assert not [u for u in urls if "/beta/unsampled/" in u]  # none at 0 %
            assert load.sent > 0 and not load.failures, load.failures
            assert gw.overview()["envoy"]["pid"] == pid


def test_requests_never_fail_because_the_collector_is_down() -> None:
    with EchoUpstream("a") as up:
        files = {
            "m.yaml": mapping("alpha", up.service, "/alpha/"),
            "t.yaml": tracing_service(f"127.0.0.1:{free_port()}", "zipkin"),
        }
        with RunningGateway(files) as gw:
            for i in range(10):
                assert gw.get(f"/alpha/{i}").status_code == 200
            assert "x-b3-traceid" in up.requests[-1][2]
            # the diagnostics show the TracingService and that its exports fail
            seen = gw.overview()["observability"]
            assert seen["tracing"]["resource"] == "TracingService/tracing.default"
            assert seen["tracing"]["driver"] == "zipkin"

            def failing() -> dict[str, int] | None:
                envoy = gw.overview()["observability"]["envoy"]
                return envoy["errors"] if envoy and envoy["errors"] else None

            errors = poll(failing, timeout=20, interval=0.5)
            cluster = seen["tracing"]["cluster"]
            assert errors.get(f"cluster.{cluster}.upstream_cx_connect_fail", 0) > 0
            assert errors.get("tracing.zipkin.reports_dropped", 0) > 0
            stats = gw.overview()["observability"]["envoy"]["stats"]
            sampled = f"http.http_{gw.http_port}.tracing.random_sampling"
            assert stats[sampled] == 10  # the sampling decisions are there too
            page = gw.client.get(
                f"http://127.0.0.1:{gw.diag_port}/ambassador/v0/diag/",
                headers={"accept": "text/html"},
            ).text
            assert "Envoy reports export problems" in page and "reports_dropped" in page
            # ... and on the TracingService's own page
            detail = gw.diag(
                "/ambassador/v0/diag/resource/TracingService/tracing.default?json=true"
            )
            notes = [p["message"] for p in detail.json()["problems"] if p["source"] == "Envoy"]
            assert len(notes) == 1 and "tracing.zipkin.reports_dropped" in notes[0]
