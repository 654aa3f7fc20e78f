"""A real trace collector for tests: Jaeger v2 (on the OpenTelemetry collector), loopback only.

The binary is built once by ``hack/go-tools.sh jaeger`` (cached outside the repository;
`make test` builds it first). Without it the tests are skipped, except when ``CI`` is
set: there a missing program is a failure. Jaeger keeps spans in memory, accepts OTLP
(gRPC) and Zipkin (HTTP), and answers its query API (`/api/traces`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

from legation.ratelimit.binaries import go_tools_dir
from tests.e2e.helpers import free_port

GO_TOOLS = Path(__file__).resolve().parents[2] / "hack" / "go-tools.sh"
JAEGER_VERSION = "v1.76.0"
"""The jaegertracing/jaeger module version go-tools.sh builds (Jaeger v2's `cmd/jaeger`)."""

_CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp, zipkin]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{otlp}
  zipkin:
    endpoint: 127.0.0.1:{zipkin}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def find_jaeger() -> Path:
    """The Jaeger binary, building it when Go is there (skips, or fails in CI, without)."""
    built = go_tools_dir() / f"jaeger-{JAEGER_VERSION}"
    if not (built.is_file() and os.access(built, os.X_OK)):
        done = subprocess.run(["bash", str(GO_TOOLS), "jaeger"], check=False, timeout=1800)
        if done.returncode != 0:
            _missing(f"could not build Jaeger with {GO_TOOLS} jaeger")
    return built


class Jaeger:
    """Jaeger on free loopback ports; use as a context manager."""

    def __init__(self) -> None:
        self.binary = find_jaeger()
        self.otlp_port, self.zipkin_port = free_port(), free_port()
        self.query_port, self._query_grpc = free_port(), free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="legation-jaeger-")
        self.config = Path(self._tmp.name) / "jaeger.yaml"
        self.config.write_text(
            _CONFIG.format(
                query=self.query_port,
                query_grpc=self._query_grpc,
                otlp=self.otlp_port,
                zipkin=self.zipkin_port,
            )
        )
        self.log_path = Path(self._tmp.name) / "jaeger.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(timeout=5.0)

    @property
    def otlp_service(self) -> str:
        """`service` of a TracingService exporting OTLP/gRPC here."""
        return f"127.0.0.1:{self.otlp_port}"

    @property
    def zipkin_service(self) -> str:
        """`service` of a TracingService exporting Zipkin here."""
        return f"127.0.0.1:{self.zipkin_port}"

    def api(self, path: str, **params: Any) -> Any:
        """GET the query API (`/api/...`); the `data` of its answer."""
        answer = self.client.get(f"http://127.0.0.1:{self.query_port}{path}", params=params)
        answer.raise_for_status()
        return answer.json()["data"]

    def traces(self, service: str, **params: Any) -> list[dict[str, Any]]:
        """Traces of `service` from the last hour (Jaeger's JSON: spans and processes)."""
        found: list[dict[str, Any]] = self.api(
            "/api/traces", service=service, lookback="1h", limit=1000, **params
        )
        return found or []

    def __enter__(self) -> Jaeger:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "--config", str(self.config)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"jaeger exited:\n{self.log_path.read_text()}")
            try:
                self.api("/api/services")
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise AssertionError(f"jaeger did not start:\n{self.log_path.read_text()}")

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()


def span_tags(span: dict[str, Any]) -> dict[str, Any]:
    """A Jaeger span's tags as a dict."""
    return {t["key"]: t["value"] for t in span.get("tags", [])}


def service_of(trace: dict[str, Any], span: dict[str, Any]) -> str:
    """The service name that reported `span`."""
    name: str = trace["processes"][span["processID"]]["serviceName"]
    return name


class UpstreamSpans:
    """An upstream's own tracing (opentelemetry-sdk): for each request, a span whose
    parent is the W3C `traceparent` the request carried, exported to Jaeger's Zipkin
    receiver as soon as it ends. Pass `on_request` to `EchoUpstream`."""

    def __init__(self, jaeger: Jaeger, service_name: str) -> None:
        from opentelemetry.exporter.zipkin.json import ZipkinExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        endpoint = f"http://127.0.0.1:{jaeger.zipkin_port}/api/v2/spans"
        self.provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        self.provider.add_span_processor(SimpleSpanProcessor(ZipkinExporter(endpoint=endpoint)))
        self._tracer = self.provider.get_tracer("legation-tests")
        self._propagator = TraceContextTextMapPropagator()

    def on_request(self, path: str, headers: dict[str, str]) -> None:
        """Report one span for the request, a child of the caller's span."""
        parent = self._propagator.extract(headers)
        with self._tracer.start_as_current_span(f"handle {path.split('?')[0]}", context=parent):
            pass

    def close(self) -> None:
        """Flush and stop the exporter."""
        self.provider.shutdown()
