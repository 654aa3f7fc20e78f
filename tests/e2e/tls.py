"""TLS helpers for end-to-end tests: Secret, Host, TLSContext and Listener manifests, a
verifying TLS client."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.certs import Leaf, TestCA
from tests.e2e.gateway import manifest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _secret(name: str, kind: str, data: dict[str, str]) -> str:
    """A Secret manifest of type `kind` with base64 `data`."""
    return manifest("Secret", name, api_version="v1", sort_keys=True, type=kind, data=data)


def tls_secret(name: str, leaf: Leaf) -> str:
    """A kubernetes.io/tls Secret manifest (base64 `data`)."""
    data = {"tls.crt": _b64(leaf.cert_pem), "tls.key": _b64(leaf.key_pem)}
    secret = _secret(name, "kubernetes.io/tls", data)
    return secret.removeprefix("---\n")  # callers put their own `---` between documents


def host(name: str, hostname: str, secret: str | None, action: str | None = None) -> str:
    """A v3alpha1 Host manifest."""
    spec: dict[str, Any] = {"hostname": hostname}
    if secret is not None:
        spec["tlsSecret"] = {"name": secret}
    if action is not None:
        spec["requestPolicy"] = {"insecure": {"action": action}}
    return manifest("Host", name, sort_keys=True, spec=spec)


class TlsClient:
    """One TLS connection to the HTTPS port with a given SNI, verified against `ca`."""

    def __init__(
        self,
        port: int,
        sni: str,
        ca: TestCA,
        alpn: list[str] | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        context = context or ssl.create_default_context(cadata=ca.cert_pem.decode())
        context.set_alpn_protocols(alpn or ["http/1.1"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = context.wrap_socket(raw, server_hostname=sni)
        self.conn = http.client.HTTPConnection(sni, port, timeout=5)
        self.conn.sock = self.sock  # keep-alive on this very TLS connection

    def certificate(self) -> bytes:
        """DER bytes of the certificate the server presented."""
        der = self.sock.getpeercert(binary_form=True)
        assert der is not None
        return der

    def sans(self) -> list[str]:
        """DNS names of the presented certificate."""
        cert = self.sock.getpeercert()
        return [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"] if cert else []

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        """One request on the connection: status and JSON body (empty if not JSON)."""
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, {}

    def exchange(self, payload: bytes, expect: int) -> bytes:
        """Raw bytes on the connection (a TCP service behind TLS): send `payload`, read
        until `expect` bytes came back or the server closed."""
        self.sock.sendall(payload)
        data = b""
        while len(data) < expect and (chunk := self.sock.recv(65536)):
            data += chunk
        return data

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


class KeptSending:
    """Requests on one kept-alive TLS connection every 5 ms (at most `limit`), in a
    thread, while the test changes certificates: `failures` lists each non-200 answer
    and a dropped connection (which ends the sending); `sent` counts the answers.
    Leaving the block stops the thread and closes the connection."""

    def __init__(self, client: TlsClient, path: str, limit: int = 2000) -> None:
        self.client, self.path, self.limit = client, path, limit
        self.failures: list[str] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send)

    def _send(self) -> None:
        while not self._stop.is_set() and self.sent < self.limit:
            try:
                status, _ = self.client.get(self.path)
                if status != 200:
                    self.failures.append(str(status))
            except Exception as exc:  # a dropped connection is a failure
                self.failures.append(repr(exc))
                return
            self.sent += 1
            time.sleep(0.005)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()


def der_of(leaf: Leaf) -> bytes:
    """DER bytes of a leaf certificate."""
    return ssl.PEM_cert_to_DER_cert(leaf.cert_pem.decode())


def listener_stats(admin_stats: str) -> dict[str, int]:
    """Envoy's listener_manager counters and gauges, from its admin `/stats` text."""
    out = {}
    for line in admin_stats.splitlines():
        name, _, value = line.partition(": ")
        if name.startswith("listener_manager.") and value.strip().isdigit():
            out[name.removeprefix("listener_manager.")] = int(value)
    return out


def crl_secret(name: str, crl_pem: bytes) -> str:
    """An Opaque Secret manifest holding a certificate revocation list (`crl.pem`)."""
    return _secret(name, "Opaque", {"crl.pem": _b64(crl_pem)})


def ca_secret(name: str, ca_pem: bytes) -> str:
    """An Opaque Secret manifest holding only CA certificates (`ca.crt`)."""
    return _secret(name, "Opaque", {"ca.crt": _b64(ca_pem)})


def tls_context(name: str, **spec: Any) -> str:
    """A v3alpha1 TLSContext manifest."""
    return manifest("TLSContext", name, sort_keys=True, spec=spec)


def with_identity(context: ssl.SSLContext, leaf: Leaf, directory: Path) -> ssl.SSLContext:
    """`context` presenting `leaf` as its certificate (files written in `directory`)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(leaf.cert_pem)
    key.write_bytes(leaf.key_pem)
    context.load_cert_chain(cert, key)
    return context


def listener(name: str, port: int, protocol: str, model: str, **spec: Any) -> str:
    """A v3alpha1 Listener manifest; hostBinding defaults to namespace from ALL."""
    spec.setdefault("hostBinding", {"namespace": {"from": "ALL"}})
    spec = {"port": port, "protocol": protocol, "securityModel": model, **spec}
    return manifest("Listener", name, sort_keys=True, spec=spec)
