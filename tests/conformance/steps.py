"""The step vocabulary of the ingress conformance features (see SOURCE.md).

Each Service an Ingress names is backed by echo "pods" on `POD_ADDRESS` (a test host in
a network namespace of our own, see echo.py), one EndpointSlice
per pod (a named `http` port, so each pod may listen on its own port); legation finds
them through the API server like any other endpoints. Requests go to the gateway's
HTTP port with the URL's host as the `Host` header and Go's user agent.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from tests.conformance.cluster import Cluster, Gateway, wait_for
from tests.conformance.echo import POD_ADDRESS, EchoPod, PodHost
from tests.conformance.gherkin import Step

SERVICE_PORT = 8080
STATUS_TIMEOUT = 20.0
ABSENT_STATUS_WAIT = 5.0
USER_AGENT = "Go-http-client/1.1"


class StepFailed(AssertionError):
    """A step's expectation did not hold; the message says why."""


@dataclass
class World:
    """State of one scenario."""

    cluster: Cluster
    gateway: Gateway
    pods_host: PodHost
    namespace: str = ""
    ingresses: list[dict[str, Any]] = field(default_factory=list)
    pods: dict[str, list[EchoPod]] = field(default_factory=dict)
    response: httpx.Response | None = None
    error: str | None = None
    responses: list[httpx.Response] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)
    """PEM of the scenario's self-signed certificates: what an https request trusts."""
    verified_host: str | None = None
    """The SNI name the last https response was verified for (None: not https)."""

    # --- setup -------------------------------------------------------------------
    def new_namespace(self) -> None:
        """Create a fresh namespace for the scenario."""
        self.namespace = f"conformance-{uuid.uuid4().hex[:8]}"
        self.cluster.put({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": self.namespace}})  # fmt: skip

    def add_ingress(self, manifest: dict[str, Any]) -> None:
        """Create the backends an Ingress names, then the Ingress itself."""
        manifest["metadata"]["namespace"] = self.namespace
        for service in sorted(_backend_services(manifest["spec"])):
            if service not in self.pods:
                self.pods[service] = []
                self._service(service)
                self.scale(service, 1, manifest["metadata"]["name"], wait=False)
        self.ingresses.append(self.cluster.put(manifest))

    def _service(self, name: str) -> None:
        self.cluster.put({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}]},
        })  # fmt: skip

    def scale(self, service: str, replicas: int, ingress: str = "", wait: bool = True) -> None:
        """Start echo pods (and their EndpointSlices) until `replicas` serve `service`;
        `wait` for Envoy to have them all."""
        ingress = ingress or (self.ingresses[-1]["metadata"]["name"] if self.ingresses else "")
        pods = self.pods[service]
        while len(pods) < replicas:
            pod = EchoPod(
                self.pods_host, self.namespace, ingress, service, f"{service}-{len(pods)}"
            )
            pods.append(pod)
            self.cluster.put({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": pod.name, "namespace": self.namespace,
                             "labels": {"kubernetes.io/service-name": service}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": pod.port, "protocol": "TCP"}],
                "endpoints": [{"addresses": [POD_ADDRESS], "conditions": {"ready": True}}],
            })  # fmt: skip
        if wait:
            self.wait_endpoints(service)

    def wait_endpoints(self, service: str) -> None:
        """Wait until Envoy has an endpoint for every pod of `service`."""
        ports = [p.port for p in self.pods[service]]
        if not wait_for(
            lambda: all(f"::{POD_ADDRESS}:{p}::" in self.gateway.envoy_clusters() for p in ports),
            STATUS_TIMEOUT,
        ):
            raise StepFailed(f"Envoy did not get the {len(ports)} endpoints of {service!r}")

    def tls_secret(self, name: str, hostname: str) -> None:
        """A self-signed certificate for `hostname` in a kubernetes.io/tls Secret."""
        import base64

        with tempfile.TemporaryDirectory() as tmp:
            key, crt = Path(tmp) / "tls.key", Path(tmp) / "tls.crt"
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                 "-keyout", str(key), "-out", str(crt), "-subj", f"/CN={hostname}",
                 "-addext", f"subjectAltName=DNS:{hostname}"],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            data = {n: base64.b64encode(p.read_bytes()).decode() for n, p in
                    (("tls.crt", crt), ("tls.key", key))}  # fmt: skip
            self.certificates.append(crt.read_text())
        self.cluster.put({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                          "metadata": {"name": name, "namespace": self.namespace},
                          "data": data})  # fmt: skip

    # --- Ingress status ----------------------------------------------------------
    def _address(self) -> list[dict[str, str]] | None:
        stored = self.cluster.get(self.ingresses[-1])
        lb = ((stored or {}).get("status") or {}).get("loadBalancer") or {}
        return lb.get("ingress") or None

    def status_has_address(self) -> None:
        """Wait for the status address, then for Envoy to carry the Ingress's routes."""
        if not wait_for(self._address, STATUS_TIMEOUT):
            raise StepFailed("the Ingress status got no load-balancer address")
        meta = self.ingresses[-1]["metadata"]
        key = f"Ingress/{meta['name']}.{meta['namespace']}:"
        if not wait_for(lambda: self.gateway.envoy_has(key), STATUS_TIMEOUT):
            raise StepFailed(f"Envoy never received routes of {key}")
        for service in self.pods:
            self.wait_endpoints(service)

    def status_has_no_address(self) -> None:
        """Passes when no address shows up within a few seconds."""
        found = wait_for(self._address, ABSENT_STATUS_WAIT)
        if found:
            raise StepFailed(f"the Ingress status has an address: {found}")

    # --- requests ----------------------------------------------------------------
    def send(self, method: str, url: str) -> None:
        """One request to the gateway; a redirect is followed to the same address."""
        parts = urlsplit(url)
        port = self.gateway.https_port if parts.scheme == "https" else self.gateway.http_port
        host = parts.netloc or f"127.0.0.1:{port}"
        target = f"{parts.scheme}://127.0.0.1:{port}{parts.path or '/'}"
        headers = {"Host": host, "User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
        self.response, self.error, self.verified_host = None, None, None
        secure = parts.scheme == "https"
        # https: SNI is the URL's host, and the certificate must verify for it
        sni = {"sni_hostname": parts.hostname or ""} if secure else {}
        verify: ssl.SSLContext | bool = False
        if secure:
            verify = ssl.create_default_context(cadata="".join(self.certificates) or None)
        try:
            with httpx.Client(timeout=5.0, verify=verify) as client:
                for _ in range(5):
                    r = client.request(method, target, headers=headers, extensions=sni)
                    if r.status_code not in (301, 302, 303, 307, 308):
                        break
                    loc = urlsplit(r.headers["location"])
                    target = f"{parts.scheme}://127.0.0.1:{port}{loc.path or '/'}"
            self.response = r
            self.verified_host = parts.hostname if secure else None
        except httpx.HTTPError as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def send_many(self, count: int, url: str) -> None:
        """`count` GET requests; every response is kept."""
        self.responses = []
        for _ in range(count):
            self.send("GET", url)
            if self.response is None:
                raise StepFailed(f"request failed: {self.error}")
            self.responses.append(self.response)

    # --- checks ------------------------------------------------------------------
    def got(self) -> httpx.Response:
        """The last response, or a failure saying why there is none."""
        if self.response is None:
            raise StepFailed(f"no response: {self.error}")
        return self.response

    def echo(self) -> dict[str, Any]:
        """What the backend echoed in the last response."""
        r = self.got()
        try:
            data: dict[str, Any] = r.json()
        except json.JSONDecodeError:
            raise StepFailed(f"the response ({r.status_code}) is not from an echo pod") from None
        return data

    def cleanup(self) -> None:
        """Delete the scenario's Ingresses (and wait for Envoy to drop them); stop pods."""
        for ingress in self.ingresses:
            self.cluster.delete(ingress)
            meta = ingress["metadata"]
            key = f"Ingress/{meta['name']}.{meta['namespace']}:"
            wait_for(lambda key=key: not self.gateway.envoy_has(key), STATUS_TIMEOUT)
        for pods in self.pods.values():
            for pod in pods:
                pod.stop()


def _backend_services(spec: dict[str, Any]) -> set[str]:
    backends = [spec.get("defaultBackend")] + [
        p.get("backend")
        for rule in spec.get("rules") or []
        for p in (rule.get("http") or {}).get("paths") or []
    ]
    return {b["service"]["name"] for b in backends if b and b.get("service")}


def _table_check(where: str, actual: dict[str, list[str]], table: list[list[str]]) -> None:
    lowered = {k.lower(): v for k, v in actual.items()}
    for key, value in table[1:]:
        values = lowered.get(key.lower())
        if values is None:
            raise StepFailed(f"{where} header {key} is missing")
        if value != "*" and value not in values:
            raise StepFailed(f"{where} header {key} is {values}, expected {value!r}")


def _equal(what: str, actual: Any, expected: Any) -> None:
    if actual != expected:
        raise StepFailed(f"{what} is {actual!r}, expected {expected!r}")


def _slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


Handler = Callable[[World, Step, re.Match[str]], None]
STEPS: list[tuple[re.Pattern[str], Handler]] = []


def step(pattern: str) -> Callable[[Handler], Handler]:
    """Register a step handler for sentences matching `pattern` (whole text)."""

    def register(fn: Handler) -> Handler:
        STEPS.append((re.compile(pattern + "$"), fn))
        return fn

    return register


@step(r"a new random namespace")
def _ns(w: World, s: Step, m: re.Match[str]) -> None:
    w.new_namespace()


@step(r'an Ingress resource named "([^"]+)" with this spec:')
def _named(w: World, s: Step, m: re.Match[str]) -> None:
    w.add_ingress({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                   "metadata": {"name": m[1]}, "spec": yaml.safe_load(s.doc or "")})  # fmt: skip


@step(r"an Ingress resource( in a new random namespace)?")
def _full(w: World, s: Step, m: re.Match[str]) -> None:
    if m[1]:
        w.new_namespace()
    w.add_ingress(yaml.safe_load(s.doc or ""))


@step(r'a self-signed TLS secret named "([^"]+)" for the "([^"]+)" hostname')
def _tls(w: World, s: Step, m: re.Match[str]) -> None:
    w.tls_secret(m[1], m[2])


@step(r"The Ingress status shows the IP address or FQDN where it is exposed")
def _status(w: World, s: Step, m: re.Match[str]) -> None:
    w.status_has_address()


@step(r"The Ingress status should not contain the IP address or FQDN")
def _no_status(w: World, s: Step, m: re.Match[str]) -> None:
    w.status_has_no_address()


@step(r'The backend deployment "([^"]+)" for the ingress resource is scaled to (\d+)')
def _scale(w: World, s: Step, m: re.Match[str]) -> None:
    w.scale(m[1], int(m[2]))


@step(r'I send a "([A-Z]+)" request to "([^"]+)"')
def _send(w: World, s: Step, m: re.Match[str]) -> None:
    w.send(m[1], m[2])


@step(r'I send a "([A-Z]+)" request to http://"([^"]*)"/"([^"]*)"')
def _send_parts(w: World, s: Step, m: re.Match[str]) -> None:
    w.send(m[1], f"http://{m[2]}/{m[3]}")


@step(r'I send (\d+) requests to "([^"]+)"')
def _send_many(w: World, s: Step, m: re.Match[str]) -> None:
    w.send_many(int(m[1]), m[2])


@step(r"the response status-code must be (\d+)")
def _code(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the status code", w.got().status_code, int(m[1]))


@step(r'the response must be served by the "([^"]+)" service')
def _served(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the serving service", w.echo().get("service"), m[1])


@step(r'the response proto must be "([^"]+)"')
def _proto(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the response proto", w.got().http_version, m[1])


@step(r"the response headers must contain <key> with matching <value>")
def _resp_headers(w: World, s: Step, m: re.Match[str]) -> None:
    r = w.got()
    actual: dict[str, list[str]] = {}
    for k, v in r.headers.multi_items():
        actual.setdefault(k, []).append(v)
    _table_check("response", actual, s.table or [])


@step(r'the request method must be "([^"]*)"')
def _method(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the request method", w.echo().get("method"), m[1])


@step(r'the request path must be "([^"]*)"')
def _path(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the request path", w.echo().get("path"), _slash(m[1]))


@step(r'the request proto must be "([^"]+)"')
def _req_proto(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the request proto", w.echo().get("proto"), m[1])


@step(r"the request headers must contain <key> with matching <value>")
def _req_headers(w: World, s: Step, m: re.Match[str]) -> None:
    _table_check("request", w.echo().get("headers") or {}, s.table or [])


@step(r'the request host must be "([^"]+)"')
def _host(w: World, s: Step, m: re.Match[str]) -> None:
    _equal("the request host", w.echo().get("host"), m[1])


@step(r'the secure connection must verify the "([^"]+)" hostname')
def _verify(w: World, s: Step, m: re.Match[str]) -> None:
    w.got()  # a failed handshake or verification is no response, and says why
    _equal("the verified TLS hostname", w.verified_host, m[1])


@step(
    r"all the responses status-code must be (\d+) and the response body should contain "
    r"the IP address of (\d+) different Kubernetes pods"
)
def _pods(w: World, s: Step, m: re.Match[str]) -> None:
    ok = [r for r in w.responses if r.status_code == int(m[1])]
    _equal("responses with that status", len(ok), len(w.responses))
    _equal("distinct pods", len({r.json().get("pod") for r in ok}), int(m[2]))


def run_step(world: World, s: Step) -> None:
    """Run one step; an unknown sentence is a failure."""
    for pattern, handler in STEPS:
        match = pattern.match(s.text)
        if match:
            handler(world, s, match)
            return
    raise StepFailed(f"unknown step: {s.text!r}")
