"""Envoy's exporter counters: parsed, the error ones picked out, and attributed to the
TracingService / LogService they are about."""

from __future__ import annotations

from typing import Any

from legation.diag.observability import exporter_notes, parse_counters

CONFIG: dict[str, Any] = {
    "tracing": {"resource": "TracingService/t.default", "cluster": "tracing_c"},
    "log_services": [
        {"resource": "LogService/a.default", "cluster": "logservice_a"},
        {"resource": "LogService/b.default", "cluster": "logservice_b"},
    ],
}


def test_counters_parse_and_histograms_are_skipped() -> None:
    body = "tracing.zipkin.spans_sent: 4\ncluster.x.upstream_rq_time: P0(nan,1)\nbad line\n"
    assert parse_counters(body) == {"tracing.zipkin.spans_sent": 4}


def test_errors_are_attributed_to_their_resources() -> None:
    errors = {
        "tracing.opentelemetry.http_reports_failed": 2,
        "cluster.logservice_b.upstream_cx_connect_fail": 3,
    }
    notes = exporter_notes(CONFIG, {"stats": errors, "errors": errors})
    assert set(notes) == {"TracingService/t.default", "LogService/b.default"}
    assert "http_reports_failed = 2" in notes["TracingService/t.default"]
    assert "upstream_cx_connect_fail = 3" in notes["LogService/b.default"]
    assert exporter_notes(CONFIG, {"stats": {}, "errors": {}}) == {}
    assert exporter_notes(CONFIG, None) == {}
